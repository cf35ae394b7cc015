import DeviceGateway
import Synchronization

/// The outcomes of the updates of ``OTABenchmark``, safe to record from any task.
final class OTATally: Sendable {
    /// The outcomes at one moment.
    struct Snapshot: Sendable {
        /// Updates the device applied (CRC-32 and SHA-256 checked).
        var updated = 0
        /// Updates that failed (the device refused or dropped them, or the REST call failed).
        var failed = 0
        /// The first failure, as text.
        var firstError: String?
        /// Per applied update, nanoseconds from its start to the device applying it.
        var durations = LatencyHistogram()
        /// Updates ended, either way.
        var done: Int { updated + failed }
    }

    private let state = Mutex(Snapshot())

    /// The outcomes now.
    var snapshot: Snapshot { state.withLock { $0 } }

    /// An update applied `nanoseconds` after it started.
    func applied(after nanoseconds: UInt64) {
        state.withLock { state in
            state.updated += 1
            state.durations.record(nanoseconds)
        }
    }

    /// An update failed.
    func failed(_ reason: String) {
        state.withLock { state in
            state.failed += 1
            if state.firstError == nil { state.firstError = reason }
        }
    }

    /// Waits for `firmware`'s first outcome and records it, timed from `start`.
    func follow(_ firmware: SimulatedFirmware, since start: ContinuousClock.Instant) async {
        for await update in firmware.updates {
            switch update {
            case .applied:
                let elapsed = ContinuousClock.now - start
                let (seconds, attoseconds) = elapsed.components
                applied(after: UInt64(max(0, seconds)) * 1_000_000_000 + UInt64(max(0, attoseconds) / 1_000_000_000))
                return
            case .rejected(let reason), .disconnect(let reason):
                failed(reason)
                return
            case .restart:
                continue
            }
        }
        failed("the device ended before the update did")
    }
}
