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
    let logger: Logger
}
