import AerosolModels
import Hummingbird
import Webhooks

/// What the webhook and integration routes share: the scope of a path, the definition fields
/// of a body, and turning ``WebhookError`` into the resource-layer error format.
struct WebhookRouteSupport {
    let cloud: Cloud

    /// Runs a webhook operation, answering its errors in the resource-layer format
    /// (`{"ok":false,"error"}`): 400 invalid, 404 not found, 503 unavailable.
    static func answering<T: Sendable>(_ operation: () async throws -> T) async throws -> T {
        do {
            return try await operation()
        } catch let error as WebhookError {
            if error.isInvalid { throw APIError.badRequest(error.message) }
            if error.isNotFound { throw APIError.notFound(error.message) }
            throw APIError.resource(.serviceUnavailable, error.message).with(.retryAfter, "1")
        }
    }

    /// The scope of a route: the product of `:product` (the caller must be a member), or the
    /// caller's own sandbox.
    func scope(_ context: CloudRequestContext) async throws -> WebhookScope {
        let caller = try context.caller
        guard context.parameters.get("product") != nil else { return .user(caller.userID) }
        let product = try await cloud.product(try context.parameters.decoded("product"), for: caller)
        return .product(product.id)
    }

    /// The webhook id of the path.
    static func id(_ context: CloudRequestContext) throws -> String {
        try context.parameters.decoded("id")
    }

    /// A body's fields as a definition: JSON values as they are; form fields as strings, with
    /// `name[key]=value` fields (`headers[X-Key]=…`) gathered into objects (by key order).
    static func definitionValues(_ fields: RequestFields) -> [String: JSONValue] {
        guard fields.encoding == .form else { return fields.values }
        var values: [String: JSONValue] = [:]
        var nested: [String: [(String, JSONValue)]] = [:]
        for (key, value) in fields.values {
            if let open = key.firstIndex(of: "["), key.hasSuffix("]"), open > key.startIndex {
                let name = String(key[..<open])
                let inner = String(key[key.index(after: open)..<key.index(before: key.endIndex)])
                nested[name, default: []].append((inner, value))
            } else {
                values[key] = value
            }
        }
        for (name, members) in nested where values[name] == nil {
            values[name] = .object(members.sorted { $0.0 < $1.0 })
        }
        return values
    }

    /// `?limit=` of a delivery log (default 100, at most 1000).
    static func limit(_ request: Request) throws -> Int {
        try ProductRoutes.integer(request.uri.queryParameters.get("limit"), name: "limit", range: 1...1000) ?? 100
    }

    /// One webhook as an integration object (`GET /v1/webhooks/:id` and `/v1/integrations/:id`
    /// answer the same).
    func integration(_ request: Request, _ context: CloudRequestContext) async throws -> Response {
        let scope = try await scope(context)
        let id = try Self.id(context)
        let hook = try await Self.answering { try cloud.webhooks.webhook(id: id, scope: scope) }
        return .json(hook.integrationJSON(status: cloud.webhooks.status(of: hook)))
    }

    /// The delivery log of a webhook: its status and its most recent attempts, newest first.
    func deliveries(_ request: Request, _ context: CloudRequestContext) async throws -> Response {
        let scope = try await scope(context)
        let id = try Self.id(context)
        let limit = try Self.limit(request)
        let (hook, attempts) = try await Self.answering {
            let hook = try cloud.webhooks.webhook(id: id, scope: scope)
            return (hook, try await cloud.webhooks.deliveryLog(id: id, scope: scope, limit: limit))
        }
        return .json(
            .object([
                ("id", .string(hook.id)),
                ("status", cloud.webhooks.status(of: hook).json),
                ("deliveries", .array(attempts.map(\.json))),
            ])
        )
    }
}
