import Synchronization

/// The simulated device restarts (after an update) or dropped its connection: `aerosol device
/// simulate` connects again.
struct SimulatedRestart: Error {
    /// Why, for the log line.
    var reason: String

    /// Remembers that a restart was asked for on this connection, whatever error ends it.
    final class Latch: Sendable {
        private let value = Mutex<String?>(nil)

        /// The reason, once set.
        var reason: String? { value.withLock { $0 } }

        /// Records the restart.
        func set(_ reason: String) {
            value.withLock { $0 = reason }
        }
    }
}
