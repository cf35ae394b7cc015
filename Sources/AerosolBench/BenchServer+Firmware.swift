import Firmware
import Foundation
import WireClient

/// Firmware over the air through the bench server's REST API.
extension BenchServer {
    /// `PUT /v1/devices/:id` with `file` (multipart) on `connection`, as the holder of `token`.
    static func flash(_ file: [UInt8], deviceID: String, token: String, on connection: WireConnection) async throws {
        let (contentType, body) = SyntheticApplication.multipart(file, fields: [("file_type", "binary")])
        let response = try await connection.request(
            .PUT,
            "/v1/devices/\(deviceID)",
            headers: [("Content-Type", contentType), ("Authorization", "Bearer \(token)")],
            bytes: body
        )
        guard response.status == 200 else {
            throw BenchError("PUT /v1/devices/\(deviceID) answered \(response.status): \(response.text)")
        }
    }

    /// Uploads `file` as product firmware `version` of the bench product and releases it as the
    /// product default.
    func release(_ file: [UInt8], version: Int) async throws {
        let connection = try await WireConnection.connect(port: port)
        do {
            let (contentType, body) = SyntheticApplication.multipart(
                file,
                fields: [("version", String(version)), ("title", "bench")]
            )
            let uploaded = try await connection.request(
                .POST,
                "/v1/products/\(product)/firmware",
                headers: [("Content-Type", contentType), ("Authorization", "Bearer \(token)")],
                bytes: body
            )
            guard uploaded.status == 200 else {
                throw BenchError("POST /v1/products/\(product)/firmware answered \(uploaded.status): \(uploaded.text)")
            }
            let released = try await connection.request(
                .PUT,
                "/v1/products/\(product)/firmware/release",
                headers: [("Content-Type", "application/json"), ("Authorization", "Bearer \(token)")],
                body: #"{"version":\#(version),"product_default":true}"#
            )
            guard released.status == 200 else {
                throw BenchError("releasing firmware answered \(released.status): \(released.text)")
            }
            await connection.close()
        } catch {
            await connection.close()
            throw error
        }
    }
}
