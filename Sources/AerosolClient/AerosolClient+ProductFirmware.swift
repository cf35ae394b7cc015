import AerosolModels

extension AerosolClient {
    /// Uploads a product firmware version (`POST /v1/products/:p/firmware`); `version` must
    /// equal the binary's PRODUCT_VERSION. Returns the stored version's JSON.
    @discardableResult
    public func uploadProductFirmware(
        _ product: String,
        binary: [UInt8],
        version: Int,
        title: String,
        description: String = "",
        fileName: String = "firmware.bin"
    ) async throws -> JSONValue {
        let (contentType, body) = Self.multipart(
            fields: [("version", String(version)), ("title", title), ("description", description)],
            file: binary,
            fileName: fileName
        )
        return try await send(
            .POST,
            "/v1/products/\(Self.segment(product))/firmware",
            body: .bytes(body, contentType: contentType)
        )
    }

    /// The product's firmware versions, newest first (Particle's `ProductFirmwareInfo`).
    public func listProductFirmware(_ product: String) async throws -> [JSONValue] {
        try await send(.GET, "/v1/products/\(Self.segment(product))/firmware").arrayValue ?? []
    }

    /// Releases a version as the product's default: its devices are updated to it.
    public func releaseProductFirmware(_ product: String, version: Int) async throws {
        try await send(
            .PUT,
            "/v1/products/\(Self.segment(product))/firmware/release",
            body: .json(.object([("version", .int(version)), ("product_default", .bool(true))]))
        )
    }
}
