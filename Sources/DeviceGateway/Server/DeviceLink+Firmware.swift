import Firmware
import NIOCore

/// Firmware updates through a device's connection, hopping onto its event loop.
extension DeviceLink {
    /// What validating a file for the device needs (Hello and last system Describe).
    ///
    /// - Throws: ``GatewayError`` `.notConnected` before Hello or after the connection closed.
    func firmwareProfile() async throws -> DeviceProfile {
        let endpoint = self.endpoint
        let profile = try await eventLoop.submit { () -> DeviceProfile? in
            (endpoint.value as? any FirmwareEndpoint)?.firmwareProfile
        }.get()
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
        let promise = eventLoop.makePromise(of: Void.self)
        let endpoint = self.endpoint
        eventLoop.execute {
            guard let firmware = endpoint.value as? any FirmwareEndpoint else {
                promise.fail(GatewayError.notConnected())
                return
            }
            firmware.startFirmwareUpdate(image: image, validated: validated, profile: profile, promise: promise)
        }
        try await promise.futureResult.get()
    }

    /// Cancels the transfer running on the connection; `false` if none runs.
    func cancelFirmwareUpdate() async throws -> Bool {
        let endpoint = self.endpoint
        return try await eventLoop.submit {
            (endpoint.value as? any FirmwareEndpoint)?.cancelFirmwareUpdate() ?? false
        }.get()
    }

    /// Has the endpoint check again whether its product wants it updated (a slot freed).
    func retryAutomaticUpdate() {
        let endpoint = self.endpoint
        eventLoop.execute { (endpoint.value as? any FirmwareEndpoint)?.autoUpdateIfNeeded() }
    }
}
