import Firmware
import NIOCore

/// An endpoint that can take a firmware update: a TCP connection (``DeviceChannelHandler``).
/// UDP sessions do not carry updates yet; ``DeviceLink`` refuses them for those devices.
protocol FirmwareEndpoint: DeviceEndpoint {
    /// What validating a file for the device needs; `nil` before Hello.
    var firmwareProfile: DeviceProfile? { get }
    /// Starts sending `image`; `promise` succeeds once the first messages are written.
    func startFirmwareUpdate(
        image: any FirmwareImage,
        validated: ValidatedFirmware,
        profile: DeviceProfile,
        promise: EventLoopPromise<Void>
    )
    /// Cancels the running transfer; `false` if none runs.
    func cancelFirmwareUpdate() -> Bool
}

extension DeviceChannelHandler: FirmwareEndpoint {}
