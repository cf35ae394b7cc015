import Foundation
import Synchronization

/// Shared between a stream's connection task and its watchdog: where the stream stands (to
/// resume from and to drop repeats), the time of the last byte (to detect a silent, dead
/// connection), and whether the connection is waiting for the consumer (which is not silence:
/// nothing is read then on purpose).
final class StreamCursor: Sendable {
    private struct Position {
        /// The id of the last event the consumer took (or the one to start after).
        var lastID: String?
        /// The server's log position before the first connection of a stream that has no
        /// `lastID` to start from.
        var start: String?
        /// Whether a connection was made.
        var connected = false
    }

    private let position: Mutex<Position>
    private let lastByte = Atomic<UInt64>(DispatchTime.now().uptimeNanoseconds)
    private let handingOver = Atomic<Bool>(false)

    init(lastID: String?) {
        self.position = Mutex(Position(lastID: lastID))
    }

    /// The id to send as `Last-Event-ID`: the last event the consumer took. Before the first
    /// one, the id the stream started after, if any; and once a connection was made, the log
    /// position from before it (``setStart(_:)``), so that events published while a first
    /// connection was lost are not skipped.
    var lastEventID: String? {
        position.withLock { $0.lastID ?? ($0.connected ? $0.start : nil) }
    }

    /// Records the log position before the first connection.
    func setStart(_ id: String?) {
        position.withLock { $0.start = id }
    }

    /// Records that a connection was made.
    func markConnected() {
        position.withLock { $0.connected = true }
    }

    /// Whether an event with `id` is newer than the last one the consumer took (numeric ids
    /// only; any other id counts as new).
    func isNew(_ id: String) -> Bool {
        position.withLock { position in
            guard let last = position.lastID, let previous = Int64(last), let current = Int64(id) else { return true }
            return current > previous
        }
    }

    /// Records that the consumer took the event with `id`.
    func delivered(_ id: String) {
        position.withLock { $0.lastID = id }
    }

    /// Records that bytes arrived now.
    func touch() {
        lastByte.store(DispatchTime.now().uptimeNanoseconds, ordering: .relaxed)
    }

    /// Marks the start or the end of a wait for the consumer; the end counts as activity, so
    /// the silence the watchdog measures never includes the consumer's time.
    func setHandingOver(_ waiting: Bool) {
        if !waiting { touch() }
        handingOver.store(waiting, ordering: .relaxed)
    }

    /// Nanoseconds of silence the watchdog may hold against the connection: since the last
    /// byte or hand-off, and zero while the connection waits for the consumer.
    var silence: UInt64 {
        if handingOver.load(ordering: .relaxed) { return 0 }
        return DispatchTime.now().uptimeNanoseconds &- lastByte.load(ordering: .relaxed)
    }
}
