import AerosolModels
import Hummingbird
import Webhooks

/// The integrations API for `integration_type: "Webhook"`: `POST`/`GET
/// /v1/integrations`, `GET`/`PUT`/`DELETE /v1/integrations/:id`, `POST
/// /v1/integrations/:id/test`, the delivery log `GET /v1/integrations/:id/deliveries`, and the
/// same under `/v1/products/:product`.
struct IntegrationRoutes {
    let cloud: Cloud

    func register(_ routes: RouteRegistrar) {
        let support = WebhookRouteSupport(cloud: cloud)
        for base in ["/v1/integrations", "/v1/products/:product/integrations"] {
            routes.on(.post, base, .caller) { request, context in
                let fields = context.fields
                let scope = try await support.scope(context)
                try Self.checkType(fields)
                let values = WebhookRouteSupport.definitionValues(fields)
                let hook = try await WebhookRouteSupport.answering {
                    try await cloud.webhooks.create(values, scope: scope)
                }
                return .json(hook.integrationJSON(status: cloud.webhooks.status(of: hook)), status: .created)
            }
            routes.on(.get, base, .caller) { request, context in
                let scope = try await support.scope(context)
                let hooks = cloud.webhooks.list(scope: scope)
                return .json(.array(hooks.map { $0.integrationJSON(status: cloud.webhooks.status(of: $0)) }))
            }
            routes.on(.get, base + "/:id", .caller) { request, context in
                try await support.integration(request, context)
            }
            routes.on(.put, base + "/:id", .caller) { request, context in
                let fields = context.fields
                let scope = try await support.scope(context)
                let id = try WebhookRouteSupport.id(context)
                try Self.checkType(fields)
                let values = WebhookRouteSupport.definitionValues(fields)
                let hook = try await WebhookRouteSupport.answering {
                    try await cloud.webhooks.replace(id: id, with: values, scope: scope)
                }
                return .json(hook.integrationJSON(status: cloud.webhooks.status(of: hook)))
            }
            routes.on(.delete, base + "/:id", .caller) { request, context in
                let scope = try await support.scope(context)
                let id = try WebhookRouteSupport.id(context)
                try await WebhookRouteSupport.answering { try await cloud.webhooks.delete(id: id, scope: scope) }
                return Response(status: .noContent)
            }
            routes.on(.post, base + "/:id/test", .caller) { request, context in
                let fields = context.fields
                let scope = try await support.scope(context)
                let id = try WebhookRouteSupport.id(context)
                let deliveryID = try await WebhookRouteSupport.answering {
                    try await cloud.webhooks.test(
                        id: id,
                        scope: scope,
                        data: fields.string("data"),
                        deviceID: fields.string("device_id") ?? fields.string("deviceID")
                    )
                }
                return .json(.object([("ok", .bool(true)), ("delivery_id", .int(deliveryID))]))
            }
            routes.on(.get, base + "/:id/deliveries", .caller) { request, context in
                try await support.deliveries(request, context)
            }
        }
    }

    /// Only webhooks are supported: `integration_type` may be left out or be `Webhook`.
    static func checkType(_ fields: RequestFields) throws {
        guard let type = fields.string("integration_type") else { return }
        guard type.lowercased() == "webhook" else {
            throw APIError.badRequest("integration_type \(type) is not supported: Aerosol supports Webhook")
        }
    }
}
