import AerosolModels
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

    private struct Key: Hashable {
        /// The account (lower-cased e-mail), or `nil` for the address as a whole.
        var account: String?
        var address: String
    }

    private let policy: Policy
    private let clock: any CloudClock
    private let entries = Mutex<[Key: Entry]>([:])

    init(policy: Policy = Policy(), clock: any CloudClock) {
        self.policy = policy
        self.clock = clock
    }

    /// When the lock on `account` from `address` ends, if it is locked now.
    func lockedUntil(account: String, address: String) -> Date? {
        let now = clock.now
        return entries.withLock { entries in
            [Key(account: account.lowercased(), address: address), Key(account: nil, address: address)]
                .compactMap { entries[$0]?.lockedUntil }
                .filter { $0 > now }
                .max()
        }
    }

    /// Counts a failed sign-in; returns when the lock ends if this failure locked it.
    @discardableResult
    func failed(account: String, address: String) -> Date? {
        let now = clock.now
        let until = now.addingTimeInterval(policy.lockout.timeInterval)
        return entries.withLock { entries -> Date? in
            if entries.count >= policy.maxEntries { Self.forgetUnlocked(&entries, now: now) }
            var locked: Date?
            for (key, limit) in [
                (Key(account: account.lowercased(), address: address), policy.maxFailures),
                (Key(account: nil, address: address), policy.maxFailuresPerAddress),
            ] {
                var entry = entries[key] ?? Entry()
                // A lock that ended, or a run of failures that stopped a lockout ago, starts afresh.
                if let end = entry.lockedUntil, end <= now { entry = Entry() }
                if entry.lastFailure.addingTimeInterval(policy.lockout.timeInterval) <= now { entry.failures = 0 }
                entry.failures += 1
                entry.lastFailure = now
                if entry.failures >= limit, entry.lockedUntil == nil {
                    entry.lockedUntil = until
                    locked = until
                }
                entries[key] = entry
            }
            return locked
        }
    }

    /// A successful sign-in ends the account's run of failures from that address (not the
    /// address's run across accounts: signing in to one's own account between guesses at
    /// others must not reset it; that run ends a lockout after its last failure).
    func succeeded(account: String, address: String) {
        _ = entries.withLock { entries in
            entries.removeValue(forKey: Key(account: account.lowercased(), address: address))
        }
    }

    private static func forgetUnlocked(_ entries: inout [Key: Entry], now: Date) {
        entries = entries.filter { _, entry in (entry.lockedUntil ?? .distantPast) > now }
    }
}
