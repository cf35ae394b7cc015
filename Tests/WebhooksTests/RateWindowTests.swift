import Foundation
import Testing

@testable import Webhooks

@Suite("Rate limit window")
struct RateWindowTests {
    private let t0 = Fixtures.start

    @Test func twelvePerMinuteHoldsInEverySixtySeconds() {
        var window = RateWindow(limit: 12)
        for second in 0..<12 {
            let now = t0.addingTimeInterval(Double(second))
            #expect(window.available(at: now) == 12 - second)
            window.record(now)
        }
        let now = t0.addingTimeInterval(12)
        #expect(window.available(at: now) == 0)
        // The 13th may start when the first leaves the window.
        #expect(window.nextStart(after: now) == t0.addingTimeInterval(60))
        #expect(window.available(at: t0.addingTimeInterval(59.999)) == 0)
        #expect(window.available(at: t0.addingTimeInterval(60)) == 1)
        window.record(t0.addingTimeInterval(60))
        #expect(window.nextStart(after: t0.addingTimeInterval(60)) == t0.addingTimeInterval(61))
        #expect(window.available(at: t0.addingTimeInterval(130)) == 12)
    }

    @Test func zeroIsUnlimited() {
        var window = RateWindow(limit: 0)
        for _ in 0..<10_000 { window.record(t0) }
        #expect(window.available(at: t0) == Int.max)
        #expect(window.nextStart(after: t0) == t0)
    }

    @Test func changingTheLimitKeepsRecentStarts() {
        var window = RateWindow(limit: 5)
        for index in 0..<5 { window.record(t0.addingTimeInterval(Double(index))) }
        window.setLimit(2)
        #expect(window.available(at: t0.addingTimeInterval(5)) == 0)
        #expect(window.nextStart(after: t0.addingTimeInterval(5)) == t0.addingTimeInterval(63))
        window.setLimit(10)
        #expect(window.available(at: t0.addingTimeInterval(5)) == 8)
    }
}
