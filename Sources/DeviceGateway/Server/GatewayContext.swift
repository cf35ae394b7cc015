import AerosolModels
import AerosolStore
import DeviceProtocol
import Logging

/// What every device connection needs from the gateway.
struct GatewayContext: Sendable {
    let settings: GatewaySettings
    let serverKey: ServerKey
    let keys: DeviceKeyStore
    let devices: DeviceStore
    let log: EventLog
    let registry: ConnectionRegistry
    let router: DeviceEventRouter
    /// Serialises each device's status changes (online, offline) across its connections.
    let statusLock: KeyedLock<String>
    /// The firmware updates running or waiting to be confirmed, by device.
    let updates = FirmwareUpdates()
    let logger: Logger

    /// Appends a cloud event about `device` (`spark/status`, `spark/status/safe-mode`), in its
    /// owner's and product's scope.
    func announce(_ name: String, data: String, device: Device) async throws {
        _ = try await log.append(
            EventDraft(
                name: name,
                data: data,
                coreID: device.id,
                userID: device.ownerID,
                productID: device.productID
            )
        )
    }
}
