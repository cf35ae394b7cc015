import AerosolModels

extension AerosolClient {
    /// The integrations base path, for the caller's sandbox or a product.
    static func integrationsPath(_ product: String?) -> String {
        (product.map { "/v1/products/\(segment($0))" } ?? "/v1") + "/integrations"
    }

    /// Creates a webhook from a full definition (Particle's fields: `event`, `url`,
    /// `requestType`, `json`, `headers`, …; Aerosol adds `secret` and `rateLimit`).
    public func createWebhook(_ definition: [(String, JSONValue)], product: String? = nil) async throws -> WebhookInfo {
        let body = JSONValue.object([("integration_type", .string("Webhook"))] + definition)
        return try WebhookInfo(try await send(.POST, Self.integrationsPath(product), body: .json(body)))
    }

    /// Creates a webhook that sends matching events to `url` with the default payload.
    public func createWebhook(
        event: String,
        url: String,
        requestType: String = "POST",
        secret: String? = nil,
        rateLimit: Int? = nil,
        product: String? = nil
    ) async throws -> WebhookInfo {
        var definition: [(String, JSONValue)] = [
            ("event", .string(event)), ("url", .string(url)), ("requestType", .string(requestType)),
        ]
        if let secret { definition.append(("secret", .string(secret))) }
        if let rateLimit { definition.append(("rateLimit", .int(Int64(rateLimit)))) }
        return try await createWebhook(definition, product: product)
    }

    /// The caller's (or a product's) webhooks.
    public func listWebhooks(product: String? = nil) async throws -> [WebhookInfo] {
        let json = try await send(.GET, Self.integrationsPath(product))
        return try (json.arrayValue ?? json["integrations"]?.arrayValue ?? []).map(WebhookInfo.init)
    }

    /// Deletes a webhook.
    public func deleteWebhook(_ id: String, product: String? = nil) async throws {
        try await send(.DELETE, Self.integrationsPath(product) + "/\(Self.segment(id))")
    }

    /// A webhook's recent delivery attempts, newest first.
    public func webhookDeliveries(_ id: String, product: String? = nil, limit: Int = 100) async throws
        -> [WebhookAttempt]
    {
        let json = try await send(
            .GET,
            Self.integrationsPath(product) + "/\(Self.segment(id))/deliveries",
            query: [("limit", String(limit))]
        )
        return (json["deliveries"]?.arrayValue ?? []).map(WebhookAttempt.init)
    }

    /// Sends a test event to one webhook.
    public func testWebhook(_ id: String, data: String? = nil, product: String? = nil) async throws {
        var fields: [(String, String)] = []
        if let data { fields.append(("data", data)) }
        try await send(.POST, Self.integrationsPath(product) + "/\(Self.segment(id))/test", body: .form(fields))
    }
}
