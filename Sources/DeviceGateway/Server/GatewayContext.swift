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
    /// Last-heard times waiting to be written to the database.
    let heard: HeardTimes
    /// Serialises each device's status changes (online, offline) across its connections.
    let statusLock: KeyedLock<String>
    /// The firmware updates running or waiting to be confirmed, by device.
    let updates = FirmwareUpdates()
    /// Handshakes and device request durations, for the metrics.
    let metrics = GatewayMetrics()
    let logger: Logger
    /// Where UDP devices' sessions are kept across restarts (`nil`: in memory only, for tests).
    var sessions: UDPSessionStore?
    /// Requests for devices on other nodes (several nodes on one PostgreSQL database).
    var relay: NodeRelay?
    /// This node's lease among the nodes of the database (with ``relay``).
    var nodes: NodeStore?
    /// Product releases and relayed firmware files (from ``GatewaySettings/firmwareDirectory``).
    var firmwareFiles: FirmwareFileStore?

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
            ),
            source: .cloud
        )
    }

    /// Writes the last-heard times noted since the last call (see ``HeardTimes``).
    func writeHeardTimes() async {
        let times = heard.take()
        guard !times.isEmpty else { return }
        do {
            try await devices.heard(times)
        } catch {
            logger.warning(
                "could not record when devices were last heard",
                metadata: ["devices.count": "\(times.count)", "reason": "\(error)"]
            )
        }
    }
}
