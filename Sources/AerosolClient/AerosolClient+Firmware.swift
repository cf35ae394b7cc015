import AerosolModels
import Foundation

extension AerosolClient {
    /// Flashes a compiled application binary to a connected device over the air
    /// (`PUT /v1/devices/:id` with the binary as the multipart `file`, as particle-api-js
    /// sends it). Returns when the update has started; its outcome arrives as
    /// `spark/flash/status` events on the device's stream.
    ///
    /// - Throws: ``ClientError``: 400 with what is wrong with the file, 404 when the device is
    ///   not connected, 409 while another update to it runs, 413 when the file is too large.
    @discardableResult
    public func flash(_ device: String, binary: [UInt8], fileName: String = "firmware.bin") async throws -> JSONValue {
        let (contentType, body) = Self.multipart(fields: [("file_type", "binary")], file: binary, fileName: fileName)
        return try await send(
            .PUT,
            "/v1/devices/\(Self.segment(device))",
            body: .bytes(body, contentType: contentType)
        )
    }

    /// A `multipart/form-data` body: the text `fields`, then `file` as the part `file`.
    static func multipart(fields: [(String, String)], file: [UInt8], fileName: String) -> (String, [UInt8]) {
        let boundary = "aerosol-" + (0..<16).map { _ in String(Int.random(in: 0..<16), radix: 16) }.joined()
        let name = fileName.replacingOccurrences(of: "\"", with: "_").replacingOccurrences(of: "\r", with: "_")
            .replacingOccurrences(of: "\n", with: "_")
        var text = ""
        for (key, value) in fields {
            text += "--\(boundary)\r\nContent-Disposition: form-data; name=\"\(key)\"\r\n\r\n\(value)\r\n"
        }
        text += "--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"\(name)\"\r\n"
        text += "Content-Type: application/octet-stream\r\n\r\n"
        var body = Array(text.utf8)
        body += file
        body += Array("\r\n--\(boundary)--\r\n".utf8)
        return ("multipart/form-data; boundary=\(boundary)", body)
    }
}
