import AerosolModels
import AerosolStore

extension Webhook {
    /// The integration object (`GET /v1/integrations/:id`, and the elements of the lists):
    /// `id`, `integration_type`, the definition's fields, `created_at`, and Aerosol's
    /// additions `has_secret` and `status`. Never a password or a secret.
    public func integrationJSON(status: WebhookStatus) -> JSONValue {
        var members: [(String, JSONValue)] = [("id", .string(id)), ("integration_type", .string("Webhook"))]
        members += definition.fieldMembers
        if let productID { members.append(("product_id", .int(productID))) }
        members.append(("created_at", .timestamp(createdAt)))
        members.append(("has_secret", .bool(credentials.secret != nil)))
        members.append(("status", status.json))
        return .object(members)
    }

    /// An element of `GET /v1/webhooks`:
    /// `{id,event,created_at,url,requestType,name?,deviceID?,disabled?}`.
    public var legacyListJSON: JSONValue {
        var members: [(String, JSONValue)] = [
            ("id", .string(id)),
            ("event", .string(definition.event)),
            ("created_at", .timestamp(createdAt)),
            ("url", .string(definition.url.source)),
            ("requestType", .string(definition.requestType)),
        ]
        if let name = definition.name { members.append(("name", .string(name))) }
        if let deviceID = definition.deviceID { members.append(("deviceID", .string(deviceID))) }
        if definition.disabled { members.append(("disabled", .bool(true))) }
        return .object(members)
    }

    /// The answer to `POST /v1/webhooks`:
    /// `{"ok":true,"id","url","event","name"?,"created_at","hookUrl"}`.
    public func legacyCreatedJSON(baseURL: String, path: String) -> JSONValue {
        var members: [(String, JSONValue)] = [
            ("ok", .bool(true)),
            ("id", .string(id)),
            ("url", .string(definition.url.source)),
            ("event", .string(definition.event)),
        ]
        if let name = definition.name { members.append(("name", .string(name))) }
        members.append(("created_at", .timestamp(createdAt)))
        members.append(("hookUrl", .string("\(baseURL)\(path)/\(id)")))
        return .object(members)
    }
}

extension DeliveryAttempt {
    /// A line of the delivery log, as `GET …/deliveries` shows it.
    public var json: JSONValue {
        .object([
            ("id", .int(id)),
            ("delivery_id", .int(deliveryID)),
            ("event_id", .int(eventID)),
            ("event", .string(eventName)),
            ("attempt", .int(attempt)),
            ("time", .timestamp(attemptedAt)),
            ("duration_ms", .int(durationMilliseconds)),
            ("status", .int(status)),
            ("error", .string(error)),
            ("outcome", .string(outcome.rawValue)),
            ("next_retry_at", .timestamp(nextAttemptAt)),
        ])
    }
}
