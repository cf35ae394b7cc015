import AerosolClient
import Testing

@Suite("Reconnect backoff")
struct ReconnectBackoffTests {
    @Test func delaysDoubleWithinJitterAndStopAtTheCap() {
        var backoff = ReconnectBackoff(initial: .seconds(1), maximum: .seconds(30))
        var generator = SystemRandomNumberGenerator()
        let expectedCeilings: [Duration] = [1, 2, 4, 8, 16, 30, 30, 30].map { .seconds($0) }
        for (index, ceiling) in expectedCeilings.enumerated() {
            let delay = backoff.nextDelay(using: &generator)
            #expect(delay <= ceiling && delay >= ceiling / 2, "attempt \(index + 1): \(delay)")
            #expect(backoff.attempt == index + 1)
        }
    }

    @Test func resetStartsOverAndJitterSpreadsDelays() {
        var backoff = ReconnectBackoff(initial: .seconds(2), maximum: .seconds(60))
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<4 { _ = backoff.nextDelay(using: &generator) }
        #expect(backoff.nextDelay(using: &generator) >= .seconds(16))
        backoff.reset()
        #expect(backoff.attempt == 0)
        let first = backoff.nextDelay(using: &generator)
        #expect(first >= .seconds(1) && first <= .seconds(2))
        let delays = Set(
            (0..<20).map { _ in
                var fresh = ReconnectBackoff(initial: .seconds(2), maximum: .seconds(60))
                return fresh.nextDelay(using: &generator)
            }
        )
        #expect(delays.count > 1, "jitter must spread reconnects")
    }
}
