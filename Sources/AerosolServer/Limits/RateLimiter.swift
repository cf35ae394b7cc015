import AerosolModels
import AerosolStore
import Synchronization

/// One request limit shared by every connection: a ``WindowCounter`` behind a lock, on the
/// server's clock (tests move a `ManualClock` instead of waiting for windows to end).
///
/// With several nodes on one database (``RateLimitSync``), it also holds what the other nodes
/// counted for each address, so that a client spreading its requests over the nodes meets the
/// same limit as one that does not (within the second the counts take to travel).
final class RateLimiter: Sendable {
    fileprivate struct State {
        var counter: WindowCounter
        /// Addresses counted here since the last ``drain()``.
        var touched: Set<String> = []
        /// Other nodes' counts by address, each until it ends (monotonic nanoseconds).
        var others: OtherNodesCounts<String, UInt64>
    }

    /// What the limit is called among the nodes.
    let name: String
    fileprivate let state: Mutex<State>
    fileprivate let clock: any CloudClock

    /// A limiter of `limit` requests per `window` per address, remembering at most `capacity`
    /// addresses.
    init(name: String, limit: Int, window: Duration, capacity: Int, clock: any CloudClock) {
        self.name = name
        self.state = Mutex(
            State(
                counter: WindowCounter(limit: limit, window: window.nanoseconds, capacity: capacity),
                others: OtherNodesCounts(capacity: capacity)
            )
        )
        self.clock = clock
    }

    /// Counts a request from `address`; `nil` if allowed, otherwise the whole seconds to wait
    /// (at least 1), for `Retry-After`.
    func count(_ address: String) -> Int? {
        let now = clock.uptimeNanoseconds
        let decision = state.withLock { state -> WindowCounter.Decision in
            let others = state.others.total(address, now: now)
            let decision = state.counter.count(
                address,
                now: now,
                others: (others.count, (others.firstEnd ?? now) - now)
            )
            if decision == .allowed { state.touched.insert(address) }
            return decision
        }
        switch decision {
        case .allowed: return nil
        case .refused(let wait): return max(1, Int((wait + 999_999_999) / 1_000_000_000))
        }
    }

}

extension RateLimiter: SharedCounts {
    /// This node's live counts of the addresses counted since the last call, to write for the
    /// other nodes.
    func drain() -> [RateCountStore.Count] {
        let now = clock.uptimeNanoseconds
        return state.withLock { state in
            defer { state.touched.removeAll(keepingCapacity: true) }
            return state.touched.compactMap { address in
                state.counter.window(of: address, now: now).map {
                    RateCountStore.Count(
                        limiter: name,
                        address: address,
                        count: $0.count,
                        ends: Int64($0.remaining / 1_000_000)
                    )
                }
            }
        }
    }

    func absorb(_ counts: [RateCountStore.Count], databaseNow: Int64) {
        let now = clock.uptimeNanoseconds
        state.withLock { state in
            state.others.forget(endedBy: now)
            for count in counts where count.limiter == name {
                let ends = now &+ UInt64(max(0, count.ends - databaseNow)) &* 1_000_000
                state.others.record(count.count, of: count.address, by: count.node, until: ends)
            }
        }
    }
}
