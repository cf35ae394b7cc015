import AerosolModels
import AerosolStore
import Foundation
import Synchronization

/// Limits password guessing (`POST /oauth/token`, Basic auth on `/v1/access_tokens`, the
/// console's sign-in), as Particle does: after ``Policy/maxFailures`` consecutive failures for
/// an account from one client address, that address may not try the account again for
/// ``Policy/lockout`` (30 minutes). The right password does not help while locked.
///
/// The lock is per account *and* address, so that a stranger cannot lock the owner out of their
/// own account from elsewhere; and an address that fails ``Policy/maxFailuresPerAddress`` times
/// across accounts, with no pause of a lockout's length (credential stuffing), is locked out of
/// every account.
///
/// Memory is bounded: at most ``Policy/maxEntries`` addresses and accounts are remembered;
/// beyond that, entries that are not locked are forgotten first.
final class LoginGuard: Sendable {
    /// The limits (defaults are Particle's).
    struct Policy: Sendable {
        /// Consecutive failures for one account from one address before the lock (default 10).
        var maxFailures = 10
        /// Consecutive failures from one address, any accounts, before the lock (default 50).
        var maxFailuresPerAddress = 50
        /// How long a lock lasts (default 30 minutes).
        var lockout: Duration = .seconds(30 * 60)
        /// The most entries remembered (default 100,000).
        var maxEntries = 100_000
    }

    private struct Entry {
        var failures = 0
        var lastFailure = Date.distantPast
        var lockedUntil: Date?
    }

    fileprivate struct Key: Hashable {
        /// The account (lower-cased e-mail), or `nil` for the address as a whole.
        var account: String?
        var address: String
    }

    private struct State {
        var entries: [Key: Entry] = [:]
        /// Keys whose entry changed since the last ``drain()``.
        var touched: Set<Key> = []
        /// Other nodes' failures by key, each run until it ends (several nodes on one
        /// database, ``RateLimitSync``).
        var others: OtherNodesCounts<Key, Date>
    }

    private let policy: Policy
    private let clock: any CloudClock
    private let state: Mutex<State>

    init(policy: Policy = Policy(), clock: any CloudClock) {
        self.policy = policy
        self.clock = clock
        self.state = Mutex(State(others: OtherNodesCounts(capacity: policy.maxEntries)))
    }

    /// When the lock on `account` from `address` ends, if it is locked now.
    func lockedUntil(account: String, address: String) -> Date? {
        let now = clock.now
        return state.withLock { state in
            keys(account: account, address: address).compactMap { key, limit -> Date? in
                var until = state.entries[key]?.lockedUntil
                // The failures counted on every node lock the key on each of them.
                let others = state.others.total(key, now: now)
                let local = state.entries[key].map { Self.isLive($0, now: now, policy: policy) ? $0.failures : 0 } ?? 0
                if let end = others.lastEnd, local + others.count >= limit { until = max(until ?? end, end) }
                return until
            }
            .filter { $0 > now }
            .max()
        }
    }

    /// The keys a sign-in counts against, with their limits.
    private func keys(account: String, address: String) -> [(Key, Int)] {
        [
            (Key(account: account.lowercased(), address: address), policy.maxFailures),
            (Key(account: nil, address: address), policy.maxFailuresPerAddress),
        ]
    }

    /// Whether `entry`'s run of failures still counts at `now`.
    private static func isLive(_ entry: Entry, now: Date, policy: Policy) -> Bool {
        entry.lastFailure.addingTimeInterval(policy.lockout.timeInterval) > now
    }

    /// Counts a failed sign-in; returns when the lock ends if this failure locked it.
    @discardableResult
    func failed(account: String, address: String) -> Date? {
        let now = clock.now
        let until = now.addingTimeInterval(policy.lockout.timeInterval)
        return state.withLock { state -> Date? in
            if state.entries.count >= policy.maxEntries { Self.forgetUnlocked(&state.entries, now: now) }
            var locked: Date?
            for (key, limit) in keys(account: account, address: address) {
                var entry = state.entries[key] ?? Entry()
                // A lock that ended, or a run of failures that stopped a lockout ago, starts afresh.
                if let end = entry.lockedUntil, end <= now { entry = Entry() }
                if !Self.isLive(entry, now: now, policy: policy) { entry.failures = 0 }
                entry.failures += 1
                entry.lastFailure = now
                if entry.failures + state.others.total(key, now: now).count >= limit, entry.lockedUntil == nil {
                    entry.lockedUntil = until
                    locked = until
                }
                state.entries[key] = entry
                state.touched.insert(key)
            }
            return locked
        }
    }

    /// A successful sign-in ends the account's run of failures from that address (not the
    /// address's run across accounts: signing in to one's own account between guesses at
    /// others must not reset it; that run ends a lockout after its last failure).
    func succeeded(account: String, address: String) {
        state.withLock { state in
            let key = Key(account: account.lowercased(), address: address)
            if state.entries.removeValue(forKey: key) != nil { state.touched.insert(key) }
        }
    }

    private static func forgetUnlocked(_ entries: inout [Key: Entry], now: Date) {
        entries = entries.filter { _, entry in (entry.lockedUntil ?? .distantPast) > now }
    }
}

/// The failures shared with the other nodes of one database (``RateLimitSync``).
extension LoginGuard: SharedCounts {
    /// What the shared counts are called.
    static let sharedName = "sign_in"

    func drain() -> [RateCountStore.Count] {
        let now = clock.now
        return state.withLock { state in
            defer { state.touched.removeAll(keepingCapacity: true) }
            return state.touched.map { key in
                let entry = state.entries[key]
                let ends = entry.map {
                    $0.lockedUntil ?? $0.lastFailure.addingTimeInterval(policy.lockout.timeInterval)
                }
                return RateCountStore.Count(
                    limiter: Self.sharedName,
                    address: key.shared,
                    // A sign-in that succeeded ends the run: 0 for the other nodes.
                    count: entry?.failures ?? 0,
                    ends: Int64(max(0, (ends ?? now).timeIntervalSince(now)) * 1000)
                )
            }
        }
    }

    func absorb(_ counts: [RateCountStore.Count], databaseNow: Int64) {
        let now = clock.now
        state.withLock { state in
            state.others.forget(endedBy: now)
            for count in counts where count.limiter == Self.sharedName {
                guard let key = Key(shared: count.address) else { continue }
                let ends = now.addingTimeInterval(Double(count.ends - databaseNow) / 1000)
                state.others.record(count.count, of: key, by: count.node, until: ends)
            }
        }
    }
}

extension LoginGuard.Key {
    /// The key as the other nodes read it: `a` + account + address, or `x` + address, split
    /// by newlines (an address has none; an account may, so it is read up to the last one).
    var shared: String {
        account.map { "a\n\($0)\n\(address)" } ?? "x\n\(address)"
    }

    init?(shared: String) {
        if shared.hasPrefix("x\n") {
            self.init(account: nil, address: String(shared.dropFirst(2)))
        } else if shared.hasPrefix("a\n"), let last = shared.lastIndex(of: "\n"),
            last > shared.index(shared.startIndex, offsetBy: 1)
        {
            let account = shared[shared.index(shared.startIndex, offsetBy: 2)..<last]
            self.init(account: String(account), address: String(shared[shared.index(after: last)...]))
        } else {
            return nil
        }
    }
}
