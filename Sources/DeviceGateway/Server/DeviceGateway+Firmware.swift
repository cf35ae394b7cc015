import AerosolStore
import Firmware
import Foundation

/// Firmware over the air (`PUT /v1/devices/:id` with a binary): the file is validated for the
/// device, then sent by the protocol the device speaks (legacy with fast OTA and missed-chunk
/// resends, or v3), at most one update per device. Outcomes go to the device's streams as
/// `spark/flash/status`: `started `, then `failed <reason>` if the transfer fails, or, once the
/// device has restarted and describes the new module, `success ` (or `failed <reason>` if it
/// runs something else).
extension DeviceGateway {
    /// Validates `image` for the connected device `deviceID` and starts sending it; returns
    /// when the transfer has started (the outcome follows as events).
    ///
    /// - Throws: ``FirmwareError`` if the file is not a valid module for the device (nothing was
    ///   sent); ``GatewayError`` `.notConnected`, or `.busy` if an update to the device runs
    ///   already.
    ///
    /// When another node holds the device's connection (several nodes on one database), the
    /// file goes to that node through the database and the update starts there; `nil` is
    /// returned then.
    @discardableResult
    public func flash(_ image: any FirmwareImage, deviceID: String) async throws -> ValidatedFirmware? {
        guard let link = context.registry.link(deviceID) else {
            try await flashThroughAnotherNode(image, deviceID: deviceID)
            return nil
        }
        let profile = try await link.firmwareProfile()
        let validated = try ValidatedFirmware(validating: image, for: profile)
        guard context.updates.reserve(deviceID, firmware: validated, at: .now) else {
            throw GatewayError.busy("an update to this device is already running")
        }
        do {
            try await link.startFirmwareUpdate(image: image, validated: validated, profile: profile)
        } catch {
            context.updates.release(deviceID)
            throw error
        }
        return validated
    }

    /// Cancels the update to the device: one running on its connection (a v3 device is told
    /// to discard what it received; its outcome, `failed`, follows as an event), or one waiting
    /// for the device to come back. `false` if there is none.
    public func cancelFlash(deviceID: String) async throws -> Bool {
        if let answer = try await relayed(RelayedRequest(device: deviceID, kind: .cancelFlash)) {
            return answer.cancelled ?? false
        }
        if let link = context.registry.link(deviceID), try await link.cancelFirmwareUpdate() { return true }
        guard context.updates.cancelInterrupted(deviceID) else { return false }
        if let device = try await context.devices.find(id: deviceID) {
            try await context.announce(
                FlashStatus.eventName,
                data: FlashStatus.failed.eventData + "the update was cancelled",
                device: device
            )
        }
        return true
    }

    /// Whether an update to the device is running or waiting to be confirmed.
    public func isFlashing(deviceID: String) -> Bool {
        context.updates.isUpdating(deviceID)
    }

    /// The number of updates the gateway holds (running or awaiting the device's restart).
    public var firmwareUpdateCount: Int { context.updates.count }

    /// Sends `image` to the node that holds the device's connection: stored in the database
    /// under its SHA-256 for that node to read. Such files are removed an hour after they were
    /// last sent (``FirmwareFileStore/sweep(olderThan:)``), not at once: several updates with
    /// the same file may be on their way through several nodes.
    private func flashThroughAnotherNode(_ image: any FirmwareImage, deviceID: String) async throws {
        guard context.relay != nil, let files = context.firmwareFiles,
            try await context.devices.node(of: deviceID).map({ $0 != context.settings.nodeID }) == true
        else { throw GatewayError.notConnected() }
        let bytes = Data(try image.bytes(in: 0..<image.count))
        let sha256 = FirmwareFileStore.digest(bytes)
        try? await files.sweep(olderThan: .seconds(3600))
        try await files.share(bytes, sha256: sha256)
        guard try await relayed(RelayedRequest(device: deviceID, kind: .flash, name: sha256)) != nil else {
            throw GatewayError.notConnected()
        }
    }
}
