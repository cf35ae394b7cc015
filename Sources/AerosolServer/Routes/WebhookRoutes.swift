import AerosolModels
import Hummingbird
import Webhooks

/// The legacy webhook API: `POST`/`GET /v1/webhooks`, `GET`/`DELETE
/// /v1/webhooks/:id`, the delivery log `GET /v1/webhooks/:id/deliveries`, and the same under
/// `/v1/products/:product`.
struct WebhookRoutes {
    let cloud: Cloud

    func register(_ routes: RouteRegistrar) {
        let support = WebhookRouteSupport(cloud: cloud)
        for base in ["/v1/webhooks", "/v1/products/:product/webhooks"] {
            routes.on(.post, base, .caller) { request, context in
                let fields = context.fields
                let scope = try await support.scope(context)
                let values = WebhookRouteSupport.definitionValues(fields)
                let hook = try await WebhookRouteSupport.answering {
                    try await cloud.webhooks.create(values, scope: scope)
                }
                let path = request.uri.path.hasSuffix("/") ? String(request.uri.path.dropLast()) : request.uri.path
                return .json(hook.legacyCreatedJSON(baseURL: cloud.baseURL, path: path), status: .created)
            }
            routes.on(.get, base, .caller) { request, context in
                let scope = try await support.scope(context)
                return .json(.array(cloud.webhooks.list(scope: scope).map(\.legacyListJSON)))
            }
            routes.on(.get, base + "/:id", .caller) { request, context in
                try await support.integration(request, context)
            }
            routes.on(.delete, base + "/:id", .caller) { request, context in
                let scope = try await support.scope(context)
                let id = try WebhookRouteSupport.id(context)
                try await WebhookRouteSupport.answering { try await cloud.webhooks.delete(id: id, scope: scope) }
                return .ok
            }
            routes.on(.get, base + "/:id/deliveries", .caller) { request, context in
                try await support.deliveries(request, context)
            }
        }
    }
}
