import Firmware
import Synchronization

/// The firmware updates the gateway is running, or waiting to see applied, by device: at most
/// one per device. An entry lives from the moment an update is accepted until the transfer
/// fails, or until the device, restarted, describes what it runs (or does not come back within
/// ``GatewaySettings/firmwareRestartTimeout``: a later update may then take its place). A
/// transfer whose connection ended waits here for the device's next connection (a v3 transfer
/// resumes where the device was, a legacy one starts over), at most
/// `TransferConfiguration.reconnectTimeout`.
///
/// Automatic updates refused for want of a slot wait in a queue (oldest first, each device
/// once) until ``takeWaiting(limit:)`` hands them out again as slots free.
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
        /// Tells this update from a later one to the same device (see ``expire(_:generation:)``).
        var generation: UInt64 = 0
    }

    private struct State {
        var entries: [String: Entry] = [:]
        var generations: UInt64 = 0
        /// Devices whose automatic update waits for a slot, oldest first.
        var waiting: [String] = []
    }

    private let state = Mutex(State())

    /// Records an update to `deviceID`, or returns `false` if one is running already.
    /// With `automaticLimit`, the update is automatic and refused too when that many automatic
    /// transfers run already.
    func reserve(
        _ deviceID: String,
        firmware: ValidatedFirmware,
        at now: ContinuousClock.Instant,
        automaticLimit: Int? = nil
    ) -> Bool {
        state.withLock { state in
            if let automaticLimit {
                guard Self.automaticRunning(state.entries) < automaticLimit else { return false }
            }
            switch state.entries[deviceID]?.phase {
            case nil: break
            case .restarting(let until)?, .interrupted(_, let until)?: guard until <= now else { return false }
            case .transferring?: return false
            }
            state.generations += 1
            state.entries[deviceID] = Entry(
                firmware: firmware,
                phase: .transferring,
                isAutomatic: automaticLimit != nil,
                generation: state.generations
            )
            state.waiting.removeAll { $0 == deviceID }
            return true
        }
    }

    /// Automatic updates holding a slot: transferring or interrupted (a device restarting to
    /// apply its update no longer needs one).
    private static func automaticRunning(_ entries: [String: Entry]) -> Int {
        entries.values.filter { entry in
            guard entry.isAutomatic else { return false }
            if case .restarting = entry.phase { return false }
            return true
        }.count
    }

    /// The automatic update of `deviceID` found no free slot: it waits for one (once).
    func wait(_ deviceID: String) {
        state.withLock { state in
            if !state.waiting.contains(deviceID) { state.waiting.append(deviceID) }
        }
    }

    /// Takes the devices waiting for a slot, oldest first, as many as slots are free under
    /// `limit`; they try again (and wait again if another device took the slot first).
    func takeWaiting(limit: Int) -> [String] {
        state.withLock { state in
            let free = max(0, limit - Self.automaticRunning(state.entries))
            let taken = Array(state.waiting.prefix(free))
            state.waiting.removeFirst(taken.count)
            return taken
        }
    }

    /// The devices waiting for a slot, oldest first.
    var waiting: [String] { state.withLock { $0.waiting } }

    /// The transfer to `deviceID` succeeded: the device restarts and should describe the new
    /// firmware before `deadline`. Returns the update's generation, for ``expire(_:generation:)``.
    @discardableResult
    func transferred(_ deviceID: String, until deadline: ContinuousClock.Instant) -> UInt64? {
        state.withLock { state in
            state.entries[deviceID]?.phase = .restarting(until: deadline)
            return state.entries[deviceID]?.generation
        }
    }

    /// The restart deadline of update `generation` to `deviceID` has come: if the device is
    /// still restarting to apply that update, forgets it and returns `true` (it failed).
    func expire(_ deviceID: String, generation: UInt64) -> Bool {
        state.withLock { state in
            guard let entry = state.entries[deviceID], entry.generation == generation,
                case .restarting = entry.phase
            else { return false }
            state.entries[deviceID] = nil
            return true
        }
    }

    /// The connection carrying the transfer to `deviceID` ended: the transfer waits for the next
    /// one until `deadline`.
    func interrupted(_ deviceID: String, transfer: FirmwareTransfer, until deadline: ContinuousClock.Instant) {
        state.withLock { state in
            state.entries[deviceID]?.phase = .interrupted(transfer, until: deadline)
        }
    }

    /// The device is connected again: returns the interrupted transfer to go on with (the entry
    /// is transferring again), or `nil` if there is none or it waited too long (then forgotten).
    func resume(_ deviceID: String, at now: ContinuousClock.Instant) -> FirmwareTransfer? {
        state.withLock { state in
            guard let entry = state.entries[deviceID], case .interrupted(let transfer, let until) = entry.phase else {
                return nil
            }
            guard now < until else {
                state.entries[deviceID] = nil
                return nil
            }
            state.entries[deviceID]?.phase = .transferring
            return transfer
        }
    }

    /// Cancels an interrupted transfer to `deviceID`; `false` if none waits.
    func cancelInterrupted(_ deviceID: String) -> Bool {
        state.withLock { state in
            guard case .interrupted? = state.entries[deviceID]?.phase else { return false }
            state.entries[deviceID] = nil
            return true
        }
    }

    /// Forgets the update to `deviceID` (it failed or was refused).
    func release(_ deviceID: String) {
        _ = state.withLock { $0.entries.removeValue(forKey: deviceID) }
    }

    /// The device described itself: returns (and forgets) the firmware it restarted to apply,
    /// if it was restarting; `nil` while a transfer runs or if there is no update.
    func restarted(_ deviceID: String) -> ValidatedFirmware? {
        state.withLock { state in
            guard let entry = state.entries[deviceID], case .restarting = entry.phase else { return nil }
            state.entries[deviceID] = nil
            return entry.firmware
        }
    }

    /// Whether an update to `deviceID` is running or waiting to be confirmed.
    func isUpdating(_ deviceID: String) -> Bool {
        state.withLock { $0.entries[deviceID] != nil }
    }

    /// The number of updates held (tests check nothing leaks).
    var count: Int { state.withLock { $0.entries.count } }
}
