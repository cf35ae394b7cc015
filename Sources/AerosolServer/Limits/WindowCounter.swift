/// Fixed-window request counts per client address: each address may make ``limit`` requests in
/// a window that starts with its first request and lasts ``window``; then it starts afresh.
///
/// A value type without a clock (the caller passes the time), so that it is tested without
/// waiting. Memory is bounded by ``capacity``: windows that ended are swept out (at most once a
/// window while there is room, at most once a second when full); when the table is full of live
/// windows, an address it does not hold is refused until the next sweep.
struct WindowCounter: Sendable {
    /// What a request is told.
    enum Decision: Equatable, Sendable {
        case allowed
        /// Refused; the client may try again after this many nanoseconds.
        case refused(retryAfter: UInt64)
    }

    private struct Window {
        var start: UInt64
        var count: Int
    }

    /// Requests per window (at least 1).
    let limit: Int
    /// The window's length in nanoseconds.
    let window: UInt64
    /// The most addresses remembered.
    let capacity: Int
    private var windows: [String: Window] = [:]
    /// When windows that ended were last swept out.
    private var lastSweep: UInt64 = 0
    /// No sweep before this time while there is room.
    private var nextSweep: UInt64 = 0

    /// How long a full table waits between sweeps.
    static let fullSweepInterval: UInt64 = 1_000_000_000

    init(limit: Int, window: UInt64, capacity: Int) {
        self.limit = max(1, limit)
        self.window = max(1, window)
        self.capacity = max(1, capacity)
    }

    /// How many addresses are remembered.
    var count: Int { windows.count }

    /// Counts a request from `address` at `now` (monotonic nanoseconds). `others` is what other
    /// nodes counted for the address in their live windows (several nodes on one database), and
    /// when the first of those ends.
    mutating func count(
        _ address: String,
        now: UInt64,
        others: (count: Int, retryAfter: UInt64) = (0, 0)
    ) -> Decision {
        if let existing = windows[address] {
            var entry = existing
            if now &- entry.start >= window { entry = Window(start: now, count: 0) }
            guard entry.count < limit else { return .refused(retryAfter: entry.start &+ window &- now) }
            guard entry.count + others.count < limit else {
                return .refused(retryAfter: max(1, min(others.retryAfter, entry.start &+ window &- now)))
            }
            entry.count += 1
            windows[address] = entry
            return .allowed
        }
        guard others.count < limit else { return .refused(retryAfter: max(1, others.retryAfter)) }
        let full = windows.count >= capacity
        if now >= nextSweep || (full && now &- lastSweep >= Self.fullSweepInterval) {
            windows = windows.filter { now &- $0.value.start < window }
            lastSweep = now
            nextSweep = now &+ window
        }
        guard windows.count < capacity else {
            return .refused(retryAfter: lastSweep &+ Self.fullSweepInterval &- now)
        }
        windows[address] = Window(start: now, count: 1)
        return .allowed
    }

    /// The count of `address`'s window at `now` and the nanoseconds until it ends (`nil`: no
    /// live window).
    func window(of address: String, now: UInt64) -> (count: Int, remaining: UInt64)? {
        guard let entry = windows[address], now &- entry.start < window else { return nil }
        return (entry.count, entry.start &+ window &- now)
    }
}
