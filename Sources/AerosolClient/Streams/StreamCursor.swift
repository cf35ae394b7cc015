import Foundation
import Synchronization

/// Shared between a stream's reader and its watchdog: the last event id seen (to resume and to
/// drop repeats) and the time of the last byte (to detect a silent, dead connection).
final class StreamCursor: Sendable {
    private let lastID: Mutex<String?>
    private let lastByte = Atomic<UInt64>(DispatchTime.now().uptimeNanoseconds)

    init(lastID: String?) {
        self.lastID = Mutex(lastID)
    }

    /// The id to send as `Last-Event-ID`.
    var lastEventID: String? { lastID.withLock { $0 } }

    /// Records an event id; returns `false` if it is not newer than the last (numeric ids only).
    func advance(to id: String) -> Bool {
        lastID.withLock { last in
            if let last, let previous = Int64(last), let current = Int64(id), current <= previous { return false }
            last = id
            return true
        }
    }

    /// Records that bytes arrived now.
    func touch() {
        lastByte.store(DispatchTime.now().uptimeNanoseconds, ordering: .relaxed)
    }

    /// Nanoseconds since the last byte.
    var silence: UInt64 {
        DispatchTime.now().uptimeNanoseconds &- lastByte.load(ordering: .relaxed)
    }
}
