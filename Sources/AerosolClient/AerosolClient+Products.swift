import AerosolModels

extension AerosolClient {
    /// Creates a product; the slug is derived from the name unless given.
    public func createProduct(name: String, slug: String? = nil, description: String? = nil) async throws
        -> ProductInfo
    {
        var fields = [("name", name)]
        if let slug { fields.append(("slug", slug)) }
        if let description { fields.append(("description", description)) }
        let json = try await send(.POST, "/v1/products", body: .form(fields))
        return try ProductInfo(json["product"] ?? .null)
    }

    /// The products the caller belongs to.
    public func listProducts() async throws -> [ProductInfo] {
        let json = try await send(.GET, "/v1/products")
        return try (json["products"]?.arrayValue ?? []).map(ProductInfo.init)
    }

    /// One product, by id or slug.
    public func product(_ idOrSlug: String) async throws -> ProductInfo {
        try ProductInfo(try await send(.GET, "/v1/products/\(Self.segment(idOrSlug))")["product"] ?? .null)
    }

    /// Adds devices to a product; returns the ids added and those refused as invalid.
    @discardableResult
    public func addDevices(_ ids: [String], toProduct product: String) async throws -> (
        added: [String], invalid: [String]
    ) {
        let json = try await send(
            .POST,
            "/v1/products/\(Self.segment(product))/devices",
            body: .json(.object([("ids", .array(ids.map { .string($0) }))]))
        )
        let strings = { (key: String) in json[key]?.arrayValue?.compactMap(\.stringValue) ?? [] }
        return (strings("updatedDeviceIds") + strings("existingDeviceIds"), strings("invalidDeviceIds"))
    }

    /// One page of a product's devices and the total count.
    public func productDevices(_ product: String, page: Int = 1, perPage: Int = 25) async throws -> (
        devices: [DeviceInfo], total: Int
    ) {
        let json = try await send(
            .GET,
            "/v1/products/\(Self.segment(product))/devices",
            query: [("page", String(page)), ("per_page", String(perPage))]
        )
        let devices = json["devices"]?.arrayValue?.map(DeviceInfo.init) ?? []
        return (devices, Int(json["meta"]?["total"]?.intValue ?? Int64(devices.count)))
    }
}
