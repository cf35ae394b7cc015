import AerosolModels
import AerosolStore
import Foundation
import Hummingbird
import Webhooks

/// The console's pages. Each checks the session (no session: to the sign-in page) and shows
/// only what the REST API would show the same user; the scripts do the rest through the API.
struct ConsolePages: Sendable {
    let console: Console
    var cloud: Cloud { console.cloud }
    var views: ConsoleViews { console.views }

    /// Events replayed when a stream view opens, before the live ones.
    static let recentEvents = 20

    func register(_ routes: RouteRegistrar) {
        page(routes, "/console/events") { user, _, _ in try await events(user) }
        page(routes, "/console/devices") { user, _, _ in try await devices(user) }
        page(routes, "/console/devices/:device") { user, _, context in
            try await device(user, try context.parameters.decoded("device"))
        }
        page(routes, "/console/products") { user, _, _ in try await products(user) }
        page(routes, "/console/products/:product") { user, _, context in
            try await product(user, try context.parameters.decoded("product"))
        }
        page(routes, "/console/integrations") { user, _, _ in try await integrations(user) }
        page(routes, "/console/integrations/:id") { user, request, context in
            try await integration(user, try context.parameters.decoded("id"), request: request)
        }
        page(routes, "/console/tokens") { user, _, _ in try await tokens(user, created: nil) }
        routes.on(.post, "/console/tokens", .session) { request, _ in
            var request = request
            let fields = try await cloud.fields(&request)
            guard let user = await console.user(request) else { return .redirect(to: "/console/login") }
            try console.checkCSRF(fields, for: user)
            let hours = try fields.int("expires_hours") ?? 0
            guard (0...8760).contains(hours) else { throw APIError.badRequest("expires_hours must be 0 to 8760") }
            let issued = try await cloud.tokens.issue(
                userID: user.caller.userID,
                client: "user",
                expiresIn: hours == 0 ? nil : TimeInterval(hours * 3600)
            )
            return .html(try await tokens(user, created: issued.accessToken))
        }
        routes.on(.post, "/console/tokens/revoke", .session) { request, _ in
            var request = request
            let fields = try await cloud.fields(&request)
            guard let user = await console.user(request) else { return .redirect(to: "/console/login") }
            try console.checkCSRF(fields, for: user)
            let hash = fields.string("token_hash") ?? ""
            // Only the user's own tokens; signing out is how the session's token goes.
            if hash != user.caller.tokenHash,
                try await cloud.tokens.revoke(tokenHash: hash, userID: user.caller.userID)
            {
                cloud.forget(tokenHashes: [hash])
            }
            return .redirect(to: "/console/tokens")
        }
    }

    /// Registers a page: signed in, it renders; signed out, it goes to the sign-in page; an API
    /// error (not yours, not found) becomes an error page.
    private func page(
        _ routes: RouteRegistrar,
        _ path: String,
        _ render: @escaping @Sendable (ConsoleUser, Request, CloudRequestContext) async throws -> String
    ) {
        routes.on(.get, path, .session) { request, context in
            guard let user = await console.user(request) else { return .redirect(to: "/console/login") }
            do {
                return .html(try await render(user, request, context))
            } catch let error as APIError {
                var values = user.layout(title: "Not available", section: "")
                values["message"] = error.message
                return .html(views.page("error", values), status: error.status)
            }
        }
    }

    // MARK: Pages

    private func events(_ user: ConsoleUser) async throws -> String {
        var values = user.layout(title: "Events", section: "events", script: "events.js")
        values["products"] = try await cloud.products.list(memberID: user.caller.userID).map(Self.product)
        values["devices"] = try await cloud.devices.list(ownerID: user.caller.userID).map(Self.device)
        values["since"] = try await cloud.log.replayStart(
            forNewest: Self.recentEvents,
            of: EventFilter(scope: .user(user.caller.userID))
        )
        return views.page("events", values)
    }

    private func devices(_ user: ConsoleUser) async throws -> String {
        var rows = try await cloud.devices.list(ownerID: user.caller.userID)
        let products = try await cloud.products.list(memberID: user.caller.userID)
        for product in products {
            let (members, _) = try await cloud.devices.list(productID: product.id, page: 1, perPage: 1000)
            rows += members.filter { member in !rows.contains { $0.id == member.id } }
        }
        var values = user.layout(title: "Devices", section: "devices")
        values["hasDevices"] = !rows.isEmpty
        values["devices"] = rows.map { device in
            var row = Self.device(device)
            row["product"] = products.first { $0.id == device.productID }?.name ?? ""
            return row
        }
        return views.page("devices", values)
    }

    private func device(_ user: ConsoleUser, _ idOrName: String) async throws -> String {
        let device = try await cloud.device(idOrName, for: user.caller)
        var values = user.layout(title: device.name ?? device.id, section: "devices", script: "device.js")
        values["device"] = Self.device(device)
        values["variables"] = device.variables.sorted { $0.key < $1.key }.map { ["name": $0.key, "type": $0.value] }
        values["functions"] = device.functions.map { ["name": $0] }
        values["since"] = try await cloud.log.replayStart(
            forNewest: Self.recentEvents,
            of: EventFilter(scope: .device(device.id))
        )
        return views.page("device", values)
    }

    private func products(_ user: ConsoleUser) async throws -> String {
        var values = user.layout(title: "Products", section: "products", script: "products.js")
        values["products"] = try await cloud.products.list(memberID: user.caller.userID).map(Self.product)
        return views.page("products", values)
    }

    private func product(_ user: ConsoleUser, _ idOrSlug: String) async throws -> String {
        let product = try await cloud.product(idOrSlug, for: user.caller)
        let (members, total) = try await cloud.devices.list(productID: product.id, page: 1, perPage: 1000)
        var values = user.layout(title: product.name, section: "products", script: "products.js")
        values["product"] = Self.product(product)
        values["devices"] = members.map(Self.device)
        values["total"] = total
        let firmware = try await cloud.productFirmware.list(productID: product.id)
        values["firmware"] = firmware.sorted { $0.version > $1.version }.map(Self.firmware)
        values["hasFirmware"] = !firmware.isEmpty
        values["since"] = try await cloud.log.replayStart(
            forNewest: Self.recentEvents,
            of: EventFilter(scope: .product(product.id))
        )
        return views.page("product", values)
    }

    private func integrations(_ user: ConsoleUser) async throws -> String {
        let products = try await cloud.products.list(memberID: user.caller.userID)
        var hooks = cloud.webhooks.list(scope: .user(user.caller.userID)).map { (hook: $0, product: Product?.none) }
        for product in products {
            hooks += cloud.webhooks.list(scope: .product(product.id)).map { (hook: $0, product: product) }
        }
        var values = user.layout(title: "Integrations", section: "integrations", script: "integrations.js")
        values["integrations"] = hooks.map { item in
            var row: [String: Any] = [
                "id": item.hook.id,
                "event": item.hook.definition.event,
                "url": item.hook.definition.url.source,
                "requestType": item.hook.definition.requestType,
                "product": item.product?.name ?? "",
                "state": cloud.webhooks.status(of: item.hook).state,
            ]
            // Mustache sections test presence: only set what exists.
            if let name = item.hook.definition.name, !name.isEmpty { row["name"] = name }
            if let slug = item.product?.slug { row["productSlug"] = slug }
            return row
        }
        values["products"] = products.map(Self.product)
        return views.page("integrations", values)
    }

    private func integration(_ user: ConsoleUser, _ id: String, request: Request) async throws -> String {
        // The product, if the integration is a product's; the API call of the script says so.
        let productSlug = request.uri.queryParameters.get("product")
        var values = user.layout(title: "Integration", section: "integrations", script: "integrations.js")
        if let productSlug {
            let product = try await cloud.product(productSlug, for: user.caller)
            _ = try resolve { try cloud.webhooks.webhook(id: id, scope: .product(product.id)) }
            values["product"] = Self.product(product)
        } else {
            _ = try resolve { try cloud.webhooks.webhook(id: id, scope: .user(user.caller.userID)) }
        }
        values["id"] = id
        values["products"] = try await cloud.products.list(memberID: user.caller.userID).map(Self.product)
        return views.page("integration", values)
    }

    private func tokens(_ user: ConsoleUser, created: String?) async throws -> String {
        var values = user.layout(title: "Access tokens", section: "tokens", script: "tokens.js")
        let now = cloud.configuration.clock.now
        values["tokens"] = try await cloud.tokens.list(userID: user.caller.userID).map { listed in
            // The page shows a prefix and revokes by hash: no whole token ever reaches the page,
            // least of all the session's own.
            [
                "hash": TokenHasher.hash(listed.token),
                "short": String(listed.token.prefix(8)) + "…",
                "client": listed.client,
                "expires": listed.expiresAt.map(Timestamp.format) ?? "never",
                // Listed until revoked, but no longer accepted: marked, not shown as valid.
                "expired": listed.expiresAt.map { $0 <= now } ?? false,
                "current": TokenHasher.hash(listed.token) == user.caller.tokenHash,
                "csrf": user.csrf,
            ] as [String: Any]
        }
        if let created { values["created"] = created }
        return views.page("tokens", values)
    }

    // MARK: Values for the templates

    private func resolve<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as WebhookError where error.isNotFound {
            throw APIError.notFound("Integration not found")
        }
    }

    static func product(_ product: Product) -> [String: Any] {
        ["id": product.id, "slug": product.slug, "name": product.name]
    }

    static func firmware(_ firmware: ProductFirmware) -> [String: Any] {
        [
            "version": firmware.version,
            "title": firmware.title,
            "size": firmware.size,
            "uploaded": Timestamp.format(firmware.uploadedAt),
            "released": firmware.releasedAt.map(Timestamp.format) ?? "",
            "current": firmware.isProductDefault,
        ]
    }

    static func device(_ device: Device) -> [String: Any] {
        [
            "id": device.id,
            "name": device.name ?? "",
            "label": device.name ?? device.id,
            "online": device.online,
            "lastHeard": device.lastHeard.map(Timestamp.format) ?? "never",
            "platform": device.platformID.map(String.init) ?? "",
            "firmware": device.systemFirmwareVersion ?? "",
        ]
    }
}
