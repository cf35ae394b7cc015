import AerosolModels

extension AerosolClient {
    /// Publishes an event to the caller's stream, or to a product's when `product` is given.
    public func publish(
        name: String,
        data: String? = nil,
        product: String? = nil,
        isPrivate: Bool = true,
        ttl: Int? = nil
    ) async throws {
        var members: [(String, JSONValue)] = [("name", .string(name))]
        if let data { members.append(("data", .string(data))) }
        members.append(("private", .bool(isPrivate)))
        if let ttl { members.append(("ttl", .int(Int64(ttl)))) }
        let path = product.map { "/v1/products/\(Self.segment($0))/events" } ?? "/v1/devices/events"
        try await send(.POST, path, body: .json(.object(members)))
    }
}
