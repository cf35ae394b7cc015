import DeviceProtocol
import Testing

@testable import DeviceGateway

@Suite("CoAP reliability over UDP: retransmission and duplicates")
struct CoAPReliabilityTests {
    @Test func aServerCONIsSentAgainAtDoublingTimeoutsAndThenGivenUp() {
        var reliability = CoAPReliability()
        let start = ContinuousClock.now
        reliability.sent(confirmable: 7, message: [0x40, 0x01, 0x00, 0x07], at: start, jitter: 0)
        #expect(reliability.deadline == start + .seconds(4))
        let early = reliability.due(at: start + .seconds(3))
        #expect(early.retransmit.isEmpty)
        // Device OS's own schedule: 4, 8, 16 s apart; the last copy within 45 s of the first.
        var sends: [Duration] = []
        var now = start
        while let deadline = reliability.deadline {
            now = deadline
            let (again, gaveUp) = reliability.due(at: now)
            if !again.isEmpty { sends.append(now - start) }
            if !gaveUp.isEmpty {
                #expect(gaveUp == [7])
                break
            }
        }
        #expect(sends == [.seconds(4), .seconds(12), .seconds(28)])
        #expect(sends.last! < .seconds(45))
        #expect(now - start <= .seconds(90))
        #expect(reliability.unacknowledgedCount == 0)
    }

    @Test func anACKStopsTheRetransmissions() {
        var reliability = CoAPReliability()
        let start = ContinuousClock.now
        reliability.sent(confirmable: 1, message: [1], at: start, jitter: 0.5)
        #expect(reliability.deadline == start + .seconds(5))
        let first = reliability.acknowledged(1)
        let second = reliability.acknowledged(1)
        #expect(first)
        #expect(!second)
        #expect(reliability.deadline == nil)
    }

    @Test func aDuplicateGetsTheSameReplyAndIsNotHandledAgain() {
        var reliability = CoAPReliability()
        let start = ContinuousClock.now
        do {
            let arrival = reliability.arrived(42, at: start)
            #expect(arrival == .new)
        }
        // While the first copy is still being handled there is no reply yet: nothing to resend.
        #expect(reliability.arrived(42, at: start + .seconds(1)) == .duplicate(reply: nil))
        reliability.replied(to: 42, with: [0x60, 0x00, 0x00, 42])
        #expect(reliability.arrived(42, at: start + .seconds(5)) == .duplicate(reply: [0x60, 0x00, 0x00, 42]))
        // Remembered for 120 s, then a new message may reuse the ID.
        #expect(reliability.arrived(43, at: start + .seconds(121)) == .new)
        #expect(reliability.arrived(42, at: start + .seconds(121)) == .new)
    }

    @Test func rememberedMessageIDsAreBounded() {
        var reliability = CoAPReliability()
        let now = ContinuousClock.now
        for id in 0..<1000 {
            let arrival = reliability.arrived(UInt16(id), at: now)
            #expect(arrival == .new)
        }
        // The oldest were forgotten: memory stays bounded whatever the device sends.
        do {
            let arrival = reliability.arrived(0, at: now)
            #expect(arrival == .new)
        }
        do {
            let arrival = reliability.arrived(999, at: now)
            #expect(arrival == .duplicate(reply: nil))
        }
    }

    @Test func goodbyeReasonsAreDecoded() throws {
        let sleep = try Goodbye(payload: [0x05, 0x06, 0xd8, 0x04])
        #expect(sleep.cloudReason == 6)
        #expect(sleep.sleepSeconds == 600)
        #expect(sleep.resetReason == nil)
        #expect(sleep.cloudReasonName == "sleep")
        #expect(sleep.payload == [0x05, 0x06, 0xd8, 0x04])
        #expect(try Goodbye(payload: []) == Goodbye())
        #expect(throws: DeviceProtocolError.self) { try Goodbye(payload: [0x01]) }
        #expect(throws: DeviceProtocolError.self) { try Goodbye(payload: [0x01, 0x80]) }
    }
}
