import Synchronization

/// What a UDP fleet has done so far, shared by its devices' tasks and the status line.
final class DatagramFleetTally: Sendable {
    struct Counts: Sendable {
        var handshakes = 0
        var resumes = 0
        var published = 0
        var failed = 0
    }

    private let counts = Mutex(Counts())

    /// The counts now.
    var snapshot: Counts { counts.withLock { $0 } }

    /// Counts a device that came online, after a handshake or by resuming.
    func connected(resumed: Bool) {
        counts.withLock { resumed ? ($0.resumes += 1) : ($0.handshakes += 1) }
    }

    /// Counts a publish.
    func published() {
        counts.withLock { $0.published += 1 }
    }

    /// Counts a device that gave up.
    func failed() {
        counts.withLock { $0.failed += 1 }
    }
}
