import Synchronization
import Testing

@testable import AerosolClient

/// The rendezvous between a stream's connection and its consumer: nothing is kept, and the
/// producer learns that the consumer has each element.
@Suite("Hand-off between connection and consumer", .timeLimit(.minutes(1)))
struct HandOffTests {
    struct Failure: Error, Equatable {}

    @Test func theMachineHandsOverOnlyWhenBothAreThere() {
        var machine = HandOffMachine<String, Int, Int>()
        // The consumer first: it waits, and the producer's element goes straight to it.
        guard case .suspend = machine.receive(1) else { Issue.record("receive did not wait"); return }
        guard case .deliver(to: 1) = machine.send("a", 10) else { Issue.record("not delivered"); return }
        // The producer first: it waits with its element until the consumer comes.
        guard case .suspend = machine.send("b", 11) else { Issue.record("send did not wait"); return }
        guard case .take("b", resume: 11) = machine.receive(2) else { Issue.record("not taken"); return }
        // Finishing with a failure: the consumer gets it once, then the end.
        #expect(machine.finish(failure: Failure()) == nil)
        guard case .end(let failure?) = machine.receive(3), failure is Failure else {
            Issue.record("no failure")
            return
        }
        guard case .end(nil) = machine.receive(4) else { Issue.record("not ended"); return }
        guard case .refuse = machine.send("c", 12) else { Issue.record("sent after the end"); return }
    }

    @Test func theMachineReleasesWhoeverWaitsWhenTheConsumerGoes() {
        var waiting = HandOffMachine<String, Int, Int>()
        _ = waiting.send("a", 10)
        guard case .sender(10)? = waiting.cancel() else { Issue.record("sender not released"); return }
        guard case .refuse = waiting.send("b", 11) else { Issue.record("sent after cancel"); return }

        var withdrawn = HandOffMachine<String, Int, Int>()
        _ = withdrawn.send("a", 10)
        #expect(withdrawn.withdraw() == 10)
        // The element was taken back: a consumer now waits rather than getting it.
        guard case .suspend = withdrawn.receive(1) else { Issue.record("a withdrawn element was taken"); return }
    }

    @Test func sendReturnsOnlyOnceTheConsumerHasTheElement() async throws {
        let handOff = HandOff<Int>()
        let taken = Atomic<Int>(0)
        let producer = Task {
            var confirmed: [Int] = []
            for value in 1...100 {
                guard await handOff.send(value) else { break }
                // The consumer counts before it asks again, so it has at least this one.
                #expect(taken.load(ordering: .relaxed) >= value - 1)
                confirmed.append(value)
            }
            handOff.finish()
            return confirmed
        }
        var received: [Int] = []
        while let value = try await handOff.receive() {
            received.append(value)
            taken.store(value, ordering: .relaxed)
        }
        #expect(received == Array(1...100))
        #expect(await producer.value == Array(1...100))
    }

    @Test func aCancelledConsumerEndsTheHandOffAndRefusesTheProducer() async throws {
        let handOff = HandOff<Int>()
        let consumer = Task { try await handOff.receive() }
        consumer.cancel()
        #expect(try await consumer.value == nil)
        #expect(await handOff.send(1) == false)
        #expect(try await handOff.receive() == nil)
    }

    @Test func aCancelledProducerTakesItsElementBack() async throws {
        let handOff = HandOff<Int>()
        let producer = Task { await handOff.send(1) }
        producer.cancel()
        #expect(await producer.value == false)
        handOff.finish(throwing: Failure())
        await #expect(throws: Failure.self) { try await handOff.receive() }
        #expect(try await handOff.receive() == nil)
    }
}
