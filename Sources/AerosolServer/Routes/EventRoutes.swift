import AerosolModels
import AerosolStore
import Foundation
import Hummingbird

/// Publishing and the event streams.
struct EventRoutes {
    let cloud: Cloud

    func register(_ routes: RouteRegistrar) {
        routes.on(.post, "/v1/devices/events", .caller) { request, context in
            let caller = try context.caller
            let fields = context.fields
            let draft = try draft(fields, userID: caller.userID, productID: nil)
            _ = try await cloud.log.append(draft, source: .api)
            return .ok
        }
        routes.on(.post, "/v1/products/:product/events", .caller) { request, context in
            let caller = try context.caller
            let fields = context.fields
            let product = try await cloud.product(try context.parameters.decoded("product"), for: caller)
            let draft = try draft(fields, userID: nil, productID: product.id)
            _ = try await cloud.log.append(draft, source: .api)
            return .ok
        }

        // Every stream route exists with and without a trailing prefix (`/**` keeps any `/`).
        for suffix in ["", "/**"] {
            routes.on(.get, "/v1/events" + suffix, .caller) { request, context in
                let caller = try context.caller
                return try stream(.user(caller.userID), request, context, caller)
            }
            routes.on(.get, "/v1/devices/events" + suffix, .caller) { request, context in
                let caller = try context.caller
                return try stream(.user(caller.userID), request, context, caller)
            }
            routes.on(.get, "/v1/devices/:device/events" + suffix, .caller) { request, context in
                let caller = try context.caller
                let device = try await cloud.device(try context.parameters.decoded("device"), for: caller)
                return try stream(.device(device.id), request, context, caller)
            }
            routes.on(.get, "/v1/products/:product/events" + suffix, .caller) { request, context in
                let caller = try context.caller
                let product = try await cloud.product(try context.parameters.decoded("product"), for: caller)
                return try stream(.product(product.id), request, context, caller)
            }
            routes.on(.get, "/v1/products/:product/devices/:device/events" + suffix, .caller) { request, context in
                let caller = try context.caller
                let product = try await cloud.product(try context.parameters.decoded("product"), for: caller)
                let device = try await cloud.productDevice(try context.parameters.decoded("device"), in: product)
                return try stream(
                    .productDevice(product: product.id, device: device.id),
                    request,
                    context,
                    caller
                )
            }
        }
    }

    private func stream(
        _ scope: EventFilter.Scope,
        _ request: Request,
        _ context: CloudRequestContext,
        _ caller: Caller
    ) throws -> Response {
        let prefix = Self.prefix(context.parameters.getCatchAll())
        let lastEventID = try Self.lastEventID(request)
        return EventStream(filter: EventFilter(scope: scope, prefix: prefix), lastEventID: lastEventID, cloud: cloud)
            .response(caller: caller, context: context)
    }

    /// Whether `path` has the shape of a stream route (the router decides): `/v1/events…`,
    /// `/v1/devices/events…`, `/v1/devices/<device>/events…`, `/v1/products/<product>/events…`
    /// or `/v1/products/<product>/devices/<device>/events…`.
    static func mayBeStream(_ path: String) -> Bool {
        let route = path.prefix { $0 != "?" }
        let parts = route.split(separator: "/", maxSplits: 7, omittingEmptySubsequences: false)
        func part(_ index: Int) -> Substring? { index < parts.count ? parts[index] : nil }
        guard part(0) == "", part(1) == "v1" else { return false }
        switch part(2) {
        case "events": return true
        case "devices": return part(3) == "events" || part(4) == "events"
        case "products": return part(4) == "events" || (part(4) == "devices" && part(6) == "events")
        default: return false
        }
    }

    /// The prefix from the path's tail: raw `/` from curl or `%2F` from particle-api-js.
    static func prefix(_ components: [Substring]) -> String {
        let raw = components.joined(separator: "/")
        return raw.removingPercentEncoding ?? raw
    }

    /// `Last-Event-ID` from the header (as `EventSource` sends it) or `?last_event_id=`.
    static func lastEventID(_ request: Request) throws -> Int64? {
        let header = request.headers[.lastEventID]
        guard let text = header ?? request.uri.queryParameters.get("last_event_id") else { return nil }
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed.isEmpty { return nil }
        guard let id = Int64(trimmed), id >= 0 else {
            throw APIError.badRequest("Last-Event-ID must be a non-negative integer: the id of the last event received")
        }
        return id
    }

    /// Validates a publish request into a draft with `coreid` `api`.
    func draft(_ fields: RequestFields, userID: String?, productID: Int?) throws -> EventDraft {
        guard fields.has("name") else { throw APIError.badRequest("name is required: the event name") }
        guard let name = fields.text("name") else { throw APIError.badRequest("name must be a string") }
        if let problem = EventName.problem(with: name, from: .api) { throw APIError.badRequest(problem) }
        let data = fields.string("data")
        let limit = cloud.configuration.maxEventDataBytes
        if let data, data.utf8.count > limit {
            throw APIError.badRequest("Event data is \(data.utf8.count) bytes; the limit is \(limit) bytes")
        }
        _ = try fields.bool("private")
        let ttl = try fields.int("ttl") ?? Event.defaultTTL
        guard ttl >= 0 else { throw APIError.badRequest("ttl must be a non-negative integer") }
        return EventDraft(
            name: name,
            data: data,
            ttl: ttl,
            coreID: Event.apiCoreID,
            userID: userID,
            productID: productID
        )
    }
}
