import AerosolModels
import Synchronization

/// One request limit shared by every connection: a ``WindowCounter`` behind a lock, on the
/// server's clock (tests move a `ManualClock` instead of waiting for windows to end).
final class RateLimiter: Sendable {
    private let counter: Mutex<WindowCounter>
    private let clock: any CloudClock

    /// A limiter of `limit` requests per `window` per address, remembering at most `capacity`
    /// addresses.
    init(limit: Int, window: Duration, capacity: Int, clock: any CloudClock) {
        self.counter = Mutex(WindowCounter(limit: limit, window: window.nanoseconds, capacity: capacity))
        self.clock = clock
    }

    /// Counts a request from `address`; `nil` if allowed, otherwise the whole seconds to wait
    /// (at least 1), for `Retry-After`.
    func count(_ address: String) -> Int? {
        let now = clock.uptimeNanoseconds
        switch counter.withLock({ $0.count(address, now: now) }) {
        case .allowed: return nil
        case .refused(let wait): return max(1, Int((wait + 999_999_999) / 1_000_000_000))
        }
    }
}
