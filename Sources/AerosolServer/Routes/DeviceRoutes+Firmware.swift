import AerosolModels
import DeviceGateway
import Firmware
import Hummingbird

/// `PUT /v1/devices/:device` with a `multipart/form-data` body: flash a compiled application
/// binary over the air (the outcome follows as `spark/flash/status` events).
extension DeviceRoutes {
    /// Receives the binary, validates it for the device and starts the transfer.
    ///
    /// Answers `{"ok":true,"id":…,"status":"Update started"}`; 400 with what is wrong with the
    /// file, 413 above `--max-firmware-size`, 404 when the device is not connected, 409 while
    /// another update to it runs.
    static func flash(_ request: Request, device: Device, cloud: Cloud) async throws -> Response {
        let upload = try await FirmwareUpload.receive(
            request,
            limit: cloud.configuration.maxFirmwareBytes,
            directory: cloud.configuration.dataDirectory + "/firmware/uploads"
        )
        if let type = upload.fields["file_type"], type != "binary" {
            throw APIError.badRequest("Unsupported file_type \(type): only binary is supported")
        }
        do {
            try await cloud.gateway.flash(upload.file, deviceID: device.id)
        } catch let error as FirmwareError {
            throw APIError.badRequest(error.description)
        } catch let error as GatewayError {
            if error == .notConnected() { throw APIError.notFound("Device is not connected") }
            if error == .busy("") {
                throw APIError.resource(.conflict, "An update to this device is already in progress")
            }
            if error == .refused("") { throw APIError.badRequest(error.message) }
            throw APIError(error)
        }
        return .json(.object([("ok", .bool(true)), ("id", .string(device.id)), ("status", .string("Update started"))]))
    }

    /// `DELETE /v1/devices/:device/update`: cancels the update running on the device, or
    /// waiting for it to come back. 404 if there is none.
    static func cancelFlash(device: Device, cloud: Cloud) async throws -> Response {
        let cancelled: Bool
        do {
            cancelled = try await cloud.gateway.cancelFlash(deviceID: device.id)
        } catch let error as GatewayError {
            throw APIError(error)
        }
        guard cancelled else { throw APIError.notFound("No update to this device is in progress") }
        return .json(
            .object([("ok", .bool(true)), ("id", .string(device.id)), ("status", .string("Update cancelled"))])
        )
    }
}
