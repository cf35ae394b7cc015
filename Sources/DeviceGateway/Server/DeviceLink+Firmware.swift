import Firmware
import NIOCore

/// Firmware updates through a device's connection, hopping onto its event loop.
extension DeviceLink {
    /// What validating a file for the device needs (Hello and last system Describe).
    ///
    /// - Throws: ``GatewayError`` `.notConnected` before Hello or after the connection closed;
    ///   `.refused` for a device connected over UDP (updates go over TCP only, for now).
    func firmwareProfile() async throws -> DeviceProfile {
        let endpoint = self.endpoint
        let profile = try await eventLoop.submit { () throws -> DeviceProfile? in
            guard let firmware = endpoint.value as? any FirmwareEndpoint else { throw Self.overUDP }
            return firmware.firmwareProfile
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
                promise.fail(Self.overUDP)
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

    private static var overUDP: GatewayError {
        .refused("the device is connected over UDP: firmware updates are sent over TCP only, for now")
    }
}
