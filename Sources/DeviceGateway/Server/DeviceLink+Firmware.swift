import Firmware
import NIOCore

/// Firmware updates through a device's connection, hopping onto its event loop.
extension DeviceLink {
    /// What validating a file for the device needs (Hello and last system Describe).
    ///
    /// - Throws: ``GatewayError`` `.notConnected` before Hello or after the connection closed.
    func firmwareProfile() async throws -> DeviceProfile {
        let handler = self.handler
        let profile = try await channel.eventLoop.submit { handler.value.firmwareProfile }.get()
        guard let profile else { throw GatewayError.notConnected() }
        return profile
    }

    /// Starts sending `image`, validated as `validated` for `profile`.
    ///
    /// - Throws: ``GatewayError`` `.notConnected` or `.busy` (a transfer runs already).
    func startFirmwareUpdate(
        image: any FirmwareImage,
        validated: ValidatedFirmware,
        profile: DeviceProfile
    ) async throws {
        let promise = channel.eventLoop.makePromise(of: Void.self)
        let handler = self.handler
        channel.eventLoop.execute {
            handler.value.startFirmwareUpdate(image: image, validated: validated, profile: profile, promise: promise)
        }
        try await promise.futureResult.get()
    }

    /// Cancels the transfer running on the connection; `false` if none runs.
    func cancelFirmwareUpdate() async throws -> Bool {
        let handler = self.handler
        return try await channel.eventLoop.submit { handler.value.cancelFirmwareUpdate() }.get()
    }
}
