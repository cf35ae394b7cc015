import Firmware
import NIOCore

/// One device connection's part in firmware updates: what the device described (to validate
/// files for it) and the transfer running on the connection, if any. Held by the
/// ``DeviceChannelHandler`` on the connection's event loop.
struct ConnectionFirmware {
    /// The platform of the device's last system Describe (`p`), which wins over Hello's.
    var platformID: UInt16?
    /// The modules of the device's last system Describe.
    var modules: [InstalledModule]?
    /// The transfer running on this connection.
    var transfer: FirmwareTransfer?
    /// The firmware being sent.
    var sending: ValidatedFirmware?
    /// The token reserved in the session for the transfer.
    var token: UInt8 = 0
    /// The transfer's one timer.
    var timer: Scheduled<Void>?
    /// How far the transfer has got.
    var progress: TransferProgress?
    /// The last `spark/flash/status` append, so that the next one follows it.
    var announcement: EventLoopFuture<Void>?
}
