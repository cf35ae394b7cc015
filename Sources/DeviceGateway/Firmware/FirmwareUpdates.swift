import Firmware
import Synchronization

/// The firmware updates the gateway is running, or waiting to see applied, by device: at most
/// one per device. An entry lives from the moment an update is accepted until the transfer
/// fails, or until the device, restarted, describes what it runs (or does not come back within
/// ``GatewaySettings/firmwareRestartTimeout``: a later update may then take its place). A
/// transfer whose connection ended waits here for the device's next connection (a v3 transfer
/// resumes where the device was, a legacy one starts over), at most
/// `TransferConfiguration.reconnectTimeout`.
final class FirmwareUpdates: Sendable {
    enum Phase: Sendable {
        /// The file is being sent.
        case transferring
        /// The device took the file and restarts to apply it; it should describe it by then.
        case restarting(until: ContinuousClock.Instant)
        /// The connection ended mid-transfer; the transfer waits for the device to come back.
        case interrupted(FirmwareTransfer, until: ContinuousClock.Instant)
    }

    struct Entry: Sendable {
        var firmware: ValidatedFirmware
        var phase: Phase
        /// Started by an automatic product update (counted against the concurrency limit).
        var isAutomatic = false
    }

    private let entries = Mutex<[String: Entry]>([:])

    /// Records an update to `deviceID`, or returns `false` if one is running already.
    /// With `automaticLimit`, the update is automatic and refused too when that many automatic
    /// transfers run already.
    func reserve(
        _ deviceID: String,
        firmware: ValidatedFirmware,
        at now: ContinuousClock.Instant,
        automaticLimit: Int? = nil
    ) -> Bool {
        entries.withLock { entries in
            if let automaticLimit {
                let running = entries.values.filter { entry in
                    guard entry.isAutomatic else { return false }
                    if case .restarting = entry.phase { return false }
                    return true
                }.count
                guard running < automaticLimit else { return false }
            }
            switch entries[deviceID]?.phase {
            case nil: break
            case .restarting(let until)?, .interrupted(_, let until)?: guard until <= now else { return false }
            case .transferring?: return false
            }
            entries[deviceID] = Entry(firmware: firmware, phase: .transferring, isAutomatic: automaticLimit != nil)
            return true
        }
    }

    /// The transfer to `deviceID` succeeded: the device restarts and should describe the new
    /// firmware before `deadline`.
    func transferred(_ deviceID: String, until deadline: ContinuousClock.Instant) {
        entries.withLock { entries in
            entries[deviceID]?.phase = .restarting(until: deadline)
        }
    }

    /// The connection carrying the transfer to `deviceID` ended: the transfer waits for the next
    /// one until `deadline`.
    func interrupted(_ deviceID: String, transfer: FirmwareTransfer, until deadline: ContinuousClock.Instant) {
        entries.withLock { entries in
            entries[deviceID]?.phase = .interrupted(transfer, until: deadline)
        }
    }

    /// The device is connected again: returns the interrupted transfer to go on with (the entry
    /// is transferring again), or `nil` if there is none or it waited too long (then forgotten).
    func resume(_ deviceID: String, at now: ContinuousClock.Instant) -> FirmwareTransfer? {
        entries.withLock { entries in
            guard let entry = entries[deviceID], case .interrupted(let transfer, let until) = entry.phase else {
                return nil
            }
            guard now < until else {
                entries[deviceID] = nil
                return nil
            }
            entries[deviceID]?.phase = .transferring
            return transfer
        }
    }

    /// Cancels an interrupted transfer to `deviceID`; `false` if none waits.
    func cancelInterrupted(_ deviceID: String) -> Bool {
        entries.withLock { entries in
            guard case .interrupted? = entries[deviceID]?.phase else { return false }
            entries[deviceID] = nil
            return true
        }
    }

    /// Forgets the update to `deviceID` (it failed or was refused).
    func release(_ deviceID: String) {
        _ = entries.withLock { $0.removeValue(forKey: deviceID) }
    }

    /// The device described itself: returns (and forgets) the firmware it restarted to apply,
    /// if it was restarting; `nil` while a transfer runs or if there is no update.
    func restarted(_ deviceID: String) -> ValidatedFirmware? {
        entries.withLock { entries in
            guard let entry = entries[deviceID], case .restarting = entry.phase else { return nil }
            entries[deviceID] = nil
            return entry.firmware
        }
    }

    /// Whether an update to `deviceID` is running or waiting to be confirmed.
    func isUpdating(_ deviceID: String) -> Bool {
        entries.withLock { $0[deviceID] != nil }
    }

    /// The number of updates held (tests check nothing leaks).
    var count: Int { entries.withLock { $0.count } }
}
