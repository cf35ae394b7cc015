import Foundation

/// A webhook's rate limit as a sliding window: at most `limit` requests start in any
/// `window` (60 s). Unlike a token bucket it never lets a burst exceed the limit within a
/// minute, which is what "12 calls per minute" promises. A value type: the scheduler asks
/// it, with the current time, how many may start and when the next may.
public struct RateWindow: Sendable, Equatable {
    /// Starts allowed per window; 0 means unlimited.
    public private(set) var limit: Int
    /// The window length in seconds (default 60).
    public let window: TimeInterval
    /// Start times, oldest first, from `head` on (at most `limit` kept).
    private var starts: [Date] = []
    private var head = 0

    /// A window allowing `limit` starts per `window` seconds (0 = unlimited).
    public init(limit: Int, window: TimeInterval = 60) {
        self.limit = max(0, limit)
        self.window = window
    }

    /// How many requests may start at `now` (`Int.max` when unlimited).
    public func available(at now: Date) -> Int {
        guard limit > 0 else { return Int.max }
        let cutoff = now.addingTimeInterval(-window)
        // Starts are in time order: find the first one inside the window.
        var low = head
        var high = starts.count
        while low < high {
            let middle = (low + high) / 2
            if starts[middle] > cutoff { high = middle } else { low = middle + 1 }
        }
        return max(0, limit - (starts.count - low))
    }

    /// When the next request may start: `now` if one may now, else when the oldest of the
    /// last `limit` starts leaves the window.
    public func nextStart(after now: Date) -> Date {
        guard limit > 0, available(at: now) == 0 else { return now }
        let live = starts.count - head
        let oldestThatCounts = starts[head + max(0, live - limit)]
        return oldestThatCounts.addingTimeInterval(window)
    }

    /// Records a start at `now`.
    public mutating func record(_ now: Date) {
        guard limit > 0 else { return }
        starts.append(now)
        if starts.count - head > limit { head += starts.count - head - limit }
        if head > 64, head * 2 > starts.count {
            starts.removeFirst(head)
            head = 0
        }
    }

    /// Changes the limit (a webhook was edited), keeping the recent starts.
    public mutating func setLimit(_ newLimit: Int) {
        limit = max(0, newLimit)
        if limit == 0 {
            starts = []
            head = 0
        } else if starts.count - head > limit {
            head = starts.count - limit
        }
    }
}
