import Foundation
import Synchronization

/// When each device was last heard from, kept in memory and written to the database behind the
/// traffic rather than on it: connections note the time here (at most about once a second
/// each), and the gateway writes what was noted every ``GatewaySettings/lastHeardWriteInterval``
/// in one transaction, and once more when it stops. A device's disconnect writes its own last
/// time at once; writes never move `last_heard` backwards, so their order does not matter.
final class HeardTimes: Sendable {
    private let pending = Mutex<[String: Date]>([:])

    /// Notes that `deviceID` was heard from at `date`.
    func note(_ deviceID: String, at date: Date) {
        pending.withLock { times in
            if let known = times[deviceID], known >= date { return }
            times[deviceID] = date
        }
    }

    /// Hands over the times noted since the last call, and forgets them.
    func take() -> [String: Date] {
        pending.withLock { times in
            let taken = times
            times = [:]
            return taken
        }
    }
}
