import CoAP
import Synchronization

/// What the devices of ``DeviceLatencyBenchmark`` counted while publishing, shared by all of
/// them.
final class PublishTally: Sendable {
    /// The counts at one moment.
    struct Snapshot: Sendable {
        /// Measured publishes sent (warm-up ones excluded).
        var published = 0
        /// Measured publishes the server acknowledged (ACK 0.00: logged and durable).
        var accepted = 0
        /// Measured publishes answered with another code (4.00: over the rate limit).
        var refused = 0
        /// Publishes that failed (the connection ended).
        var failed = 0
        /// Devices through their whole schedule.
        var devicesDone = 0
        /// Publish → ACK, in nanoseconds, of the measured publishes.
        var ackLatency = LatencyHistogram()
    }

    private let state = Mutex(Snapshot())

    /// The counts now.
    var snapshot: Snapshot { state.withLock { $0 } }

    /// Records a measured publish sent at `sent` and answered with `code` now.
    func answered(_ code: CoAPCode?, sentAt sent: UInt64) {
        let now = MonotonicClock.nanoseconds()
        state.withLock { state in
            state.published += 1
            if code == .empty {
                state.accepted += 1
                state.ackLatency.record(now &- sent)
            } else {
                state.refused += 1
            }
        }
    }

    /// Records a publish that failed.
    func failed() {
        state.withLock { $0.failed += 1 }
    }

    /// Records a device through its schedule.
    func deviceDone() {
        state.withLock { $0.devicesDone += 1 }
    }
}
