import Testing

@testable import AerosolServer

/// The fixed-window counter without a clock or a socket: times are passed in nanoseconds.
@Suite("Window counter")
struct WindowCounterTests {
    static let second: UInt64 = 1_000_000_000

    @Test func anAddressGetsItsLimitPerWindowThenWaitsForTheWindowsEnd() {
        var counter = WindowCounter(limit: 3, window: 300 * Self.second, capacity: 10)
        for _ in 1...3 { #expect(counter.count("192.0.2.1", now: 10 * Self.second) == .allowed) }
        #expect(counter.count("192.0.2.1", now: 10 * Self.second) == .refused(retryAfter: 300 * Self.second))
        #expect(counter.count("192.0.2.1", now: 250 * Self.second) == .refused(retryAfter: 60 * Self.second))
        // Others are counted apart.
        #expect(counter.count("192.0.2.2", now: 250 * Self.second) == .allowed)
        // The window started with the first request and ends 300 s later.
        #expect(counter.count("192.0.2.1", now: 310 * Self.second) == .allowed)
    }

    @Test func aFullTableRefusesNewAddressesUntilWindowsEndAndKeepsServingItsOwn() {
        var counter = WindowCounter(limit: 5, window: 300 * Self.second, capacity: 3)
        for host in 1...3 { #expect(counter.count("192.0.2.\(host)", now: Self.second * UInt64(host)) == .allowed) }
        #expect(counter.count("192.0.2.9", now: 4 * Self.second) == .refused(retryAfter: Self.second))
        #expect(counter.count("192.0.2.1", now: 4 * Self.second) == .allowed)
        #expect(counter.count == 3)
        // Once the first window ended, a sweep makes room (and forgets it).
        #expect(counter.count("192.0.2.9", now: 301 * Self.second) == .allowed)
        #expect(counter.count == 3)
    }

    @Test func endedWindowsAreForgottenOnceAWindow() {
        var counter = WindowCounter(limit: 5, window: 60 * Self.second, capacity: 1000)
        for host in 1...100 { _ = counter.count("198.51.100.\(host)", now: 0) }
        #expect(counter.count == 100)
        _ = counter.count("203.0.113.1", now: 61 * Self.second)
        #expect(counter.count == 1)
    }

    @Test func otherNodesCountsCountAgainstTheLimit() {
        var counter = WindowCounter(limit: 5, window: 300 * Self.second, capacity: 10)
        let others = (count: 3, retryAfter: 40 * Self.second)
        #expect(counter.count("192.0.2.1", now: 0, others: others) == .allowed)
        #expect(counter.count("192.0.2.1", now: Self.second, others: others) == .allowed)
        // 2 here and 3 elsewhere: the limit; the first of the others' windows ends first.
        #expect(
            counter.count("192.0.2.1", now: 2 * Self.second, others: others) == .refused(retryAfter: 40 * Self.second)
        )
        #expect(counter.window(of: "192.0.2.1", now: 2 * Self.second)! == (2, 298 * Self.second))
        // An address new here is refused when the others used its whole limit.
        #expect(
            counter.count("192.0.2.2", now: 0, others: (5, 7 * Self.second)) == .refused(retryAfter: 7 * Self.second)
        )
        #expect(counter.window(of: "192.0.2.2", now: 0) == nil)
    }
}
