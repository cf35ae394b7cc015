import AerosolModels
import AerosolServer
import AerosolStore
import AerosolTesting
import Foundation
import NIOHTTP1
import Testing
import WireClient

/// Every route of the API against two accounts, each with a product, a claimed device, a
/// product device, a webhook, a product webhook and tokens: whatever Ada asks, she never sees
/// or changes Bob's things. The rows are keyed by the route table, so a new route without a
/// row fails ``everyRouteHasARow()``.
@Suite("Authorization matrix: every route, two accounts", .timeLimit(.minutes(2)))
struct AuthorizationMatrixTests {
    /// One account's things.
    struct Account: Sendable {
        let email: String
        let token: String
        let product: String
        let device: String
        let productDevice: String
        let webhook: String
        let productWebhook: String

        /// What must never appear in a response to the other account.
        var secrets: [String] { [token, device, productDevice, webhook, productWebhook, "\"\(product)\""] }
    }

    struct Scene: Sendable {
        let server: TestServer
        let ada: Account
        let bob: Account
        /// Ada's console session cookie and CSRF token.
        let browser: (cookie: String, csrf: String)

        /// A request with Ada's bearer token (or `token`) and a form body.
        func asAda(
            _ method: HTTPMethod,
            _ path: String,
            token: String? = nil,
            _ fields: [(String, String)] = []
        ) async throws -> WireResponse {
            try await server.form(method, path, token: token ?? ada.token, fields)
        }

        /// The response must not give away any of Bob's things.
        func revealsNothingOfBob(_ response: WireResponse, _ row: String) {
            for secret in bob.secrets {
                #expect(!response.text.contains(secret), "\(row) revealed \(secret): \(response.text.prefix(300))")
            }
        }

        /// Bob's things are all still there and his token still works.
        func bobIsIntact(_ row: String) async throws {
            let devices = try await server.get("/v1/devices", token: bob.token)
            #expect(devices.status == 200, "after \(row), Bob's token: \(devices.text)")
            #expect(devices.text.contains(bob.device), "after \(row): \(devices.text)")
            let product = try await server.get("/v1/products/\(bob.product)/devices", token: bob.token)
            #expect(product.text.contains(bob.productDevice), "after \(row): \(product.text)")
            let hooks = try await server.get("/v1/webhooks", token: bob.token)
            #expect(hooks.text.contains(bob.webhook), "after \(row): \(hooks.text)")
        }
    }

    typealias Attempt = @Sendable (Scene, String) async throws -> Void

    /// Ada names Bob's things in the path; the answer is `status`, and nothing of Bob's shows.
    static func refused(_ status: Int, _ method: HTTPMethod, _ path: @escaping @Sendable (Account) -> String)
        -> Attempt
    {
        { scene, row in
            let response = try await scene.asAda(method, path(scene.bob), [("name", "x"), ("arg", "x")])
            #expect(response.status == status, "\(row): \(response.status) \(response.text)")
            scene.revealsNothingOfBob(response, row)
            try await scene.bobIsIntact(row)
        }
    }

    /// Ada's own request: it may succeed, but shows nothing of Bob's and changes none of it.
    static func ownOnly(
        _ method: HTTPMethod,
        _ path: @escaping @Sendable (Account) -> String,
        fields: [(String, String)] = [],
        freshToken: Bool = false
    ) -> Attempt {
        { scene, row in
            let token = freshToken ? try await scene.server.login(scene.ada.email) : scene.ada.token
            let response = try await scene.asAda(method, path(scene.ada), token: token, fields)
            #expect(response.status < 500, "\(row): \(response.status) \(response.text)")
            scene.revealsNothingOfBob(response, row)
            try await scene.bobIsIntact(row)
        }
    }

    /// Ada's stream never carries Bob's events.
    static func ownStream(_ path: @escaping @Sendable (Account) -> String) -> Attempt {
        { scene, row in
            let stream = try await EventStreamReader.open(scene.server, path(scene.ada), token: scene.ada.token)
            try await stream.read(until: { $0.hasPrefix(":ok") })
            try await scene.server.publish("matrix-bob", "bob-secret", token: scene.bob.token)
            try await scene.server.publish(
                "matrix-bob",
                "bob-secret",
                token: scene.bob.token,
                product: scene.bob.product
            )
            try await scene.server.publish("matrix-ada", "ada-marker", token: scene.ada.token)
            try await scene.server.publish(
                "matrix-ada",
                "ada-marker",
                token: scene.ada.token,
                product: scene.ada.product
            )
            let text = try await stream.read(until: { $0.contains("ada-marker") })
            #expect(!text.contains("bob-secret"), "\(row): \(text)")
            await stream.close()
        }
    }

    /// A console page naming Bob's thing: an error page with `status`, nothing of Bob's.
    static func consoleRefused(_ status: Int, _ path: @escaping @Sendable (Account) -> String) -> Attempt {
        { scene, row in
            let page = try await scene.server.request(
                .GET,
                path(scene.bob),
                headers: [("Cookie", scene.browser.cookie)]
            )
            #expect(page.status == status, "\(row): \(page.status)")
            scene.revealsNothingOfBob(page, row)
        }
    }

    /// A console page of Ada's own: nothing of Bob's.
    static func consoleOwn(_ path: String) -> Attempt {
        { scene, row in
            let page = try await scene.server.request(.GET, path, headers: [("Cookie", scene.browser.cookie)])
            #expect(page.status == 200, "\(row): \(page.status)")
            scene.revealsNothingOfBob(page, row)
        }
    }

    /// Routes without credentials: there is nothing of another account to cross.
    static let openToAnyone: Attempt = { _, _ in }

    static let rows: [String: Attempt] = {
        var rows: [String: Attempt] = [:]
        rows["GET /healthz"] = openToAnyone
        rows["GET /readyz"] = openToAnyone
        rows["GET /metrics"] = openToAnyone
        rows["GET /v1/openapi.json"] = openToAnyone
        rows["POST /oauth/token"] = openToAnyone
        // Holding a token is the right to revoke it: Ada cannot name Bob's.
        rows["DELETE /v1/access_tokens/:token"] = openToAnyone
        rows["GET /"] = openToAnyone
        rows["GET /console"] = openToAnyone
        rows["GET /console/static/:file"] = openToAnyone
        rows["GET /console/login"] = openToAnyone
        rows["POST /console/login"] = openToAnyone

        rows["GET /v1/access_tokens"] = { scene, row in
            let basic = Data("\(scene.ada.email):correct-horse".utf8).base64EncodedString()
            let response = try await scene.server.request(
                .GET,
                "/v1/access_tokens",
                headers: [("Authorization", "Basic \(basic)")]
            )
            #expect(response.status == 200, "\(row): \(response.text)")
            scene.revealsNothingOfBob(response, row)
        }
        rows["DELETE /v1/access_tokens"] = ownOnly(.DELETE, { _ in "/v1/access_tokens" }, freshToken: true)
        rows["GET /v1/access_tokens/current"] = ownOnly(.GET, { _ in "/v1/access_tokens/current" })
        rows["DELETE /v1/access_tokens/current"] = ownOnly(
            .DELETE,
            { _ in "/v1/access_tokens/current" },
            freshToken: true
        )

        rows["POST /v1/products"] = ownOnly(.POST, { _ in "/v1/products" }, fields: [("name", "Another")])
        rows["GET /v1/products"] = ownOnly(.GET, { _ in "/v1/products" })
        rows["GET /v1/products/:product"] = refused(403, .GET) { "/v1/products/\($0.product)" }
        rows["POST /v1/products/:product/firmware"] = refused(403, .POST) { "/v1/products/\($0.product)/firmware" }
        rows["GET /v1/products/:product/firmware"] = refused(403, .GET) { "/v1/products/\($0.product)/firmware" }
        rows["PUT /v1/products/:product/firmware/release"] = refused(403, .PUT) {
            "/v1/products/\($0.product)/firmware/release"
        }
        rows["GET /v1/products/:product/firmware/:version"] = refused(403, .GET) {
            "/v1/products/\($0.product)/firmware/1"
        }
        rows["DELETE /v1/products/:product/firmware/:version"] = refused(403, .DELETE) {
            "/v1/products/\($0.product)/firmware/1"
        }
        rows["POST /v1/products/:product/devices"] = { scene, row in
            try await refused(403, .POST) { "/v1/products/\($0.product)/devices" }(scene, row)
            // Ada's own product, Bob's devices named in the body: neither joins.
            let added = try await scene.asAda(
                .POST,
                "/v1/products/\(scene.ada.product)/devices",
                [("ids[]", scene.bob.device), ("ids[]", scene.bob.productDevice)]
            )
            #expect(added.text.contains(#""updated":0"#), "\(row): \(added.text)")
            #expect(try await scene.server.get("/v1/devices/\(scene.bob.device)", token: scene.ada.token).status == 403)
            try await scene.bobIsIntact(row)
        }
        rows["GET /v1/products/:product/devices"] = refused(403, .GET) { "/v1/products/\($0.product)/devices" }
        rows["GET /v1/products/:product/devices/:device"] = refused(403, .GET) {
            "/v1/products/\($0.product)/devices/\($0.productDevice)"
        }
        rows["PUT /v1/products/:product/devices/:device"] = refused(403, .PUT) {
            "/v1/products/\($0.product)/devices/\($0.productDevice)"
        }
        rows["DELETE /v1/products/:product/devices/:device"] = refused(403, .DELETE) {
            "/v1/products/\($0.product)/devices/\($0.productDevice)"
        }
        rows["GET /v1/products/:product/devices/:device/:name"] = refused(403, .GET) {
            "/v1/products/\($0.product)/devices/\($0.productDevice)/temp"
        }
        rows["POST /v1/products/:product/devices/:device/:name"] = refused(403, .POST) {
            "/v1/products/\($0.product)/devices/\($0.productDevice)/led"
        }
        rows["POST /v1/products/:product/events"] = refused(403, .POST) { "/v1/products/\($0.product)/events" }

        rows["GET /v1/devices"] = ownOnly(.GET, { _ in "/v1/devices" })
        // Claiming Bob's device by naming it in the body.
        rows["POST /v1/devices"] = { scene, row in
            let response = try await scene.asAda(.POST, "/v1/devices", [("id", scene.bob.device)])
            #expect(response.status == 403, "\(row): \(response.text)")
            let product = try await scene.asAda(.POST, "/v1/devices", [("id", scene.bob.productDevice)])
            #expect(product.status == 403, "\(row): \(product.text)")
            try await scene.bobIsIntact(row)
        }
        rows["GET /v1/devices/:device"] = refused(403, .GET) { "/v1/devices/\($0.device)" }
        rows["PUT /v1/devices/:device"] = refused(403, .PUT) { "/v1/devices/\($0.device)" }
        rows["DELETE /v1/devices/:device"] = refused(403, .DELETE) { "/v1/devices/\($0.device)" }
        rows["DELETE /v1/devices/:device/update"] = refused(403, .DELETE) { "/v1/devices/\($0.device)/update" }
        rows["GET /v1/devices/:device/:name"] = refused(403, .GET) { "/v1/devices/\($0.device)/temp" }
        rows["POST /v1/devices/:device/:name"] = refused(403, .POST) { "/v1/devices/\($0.device)/led" }
        rows["PUT /v1/devices/:device/:name"] = refused(403, .PUT) { "/v1/devices/\($0.device)/ping" }
        rows["POST /v1/provisioning/:device"] = { scene, row in
            for device in [scene.bob.device, scene.bob.productDevice] {
                let response = try await scene.asAda(
                    .POST,
                    "/v1/provisioning/\(device)",
                    [("publicKey", DeviceOwnershipTests.keyB)]
                )
                #expect(response.status == 403, "\(row): \(response.text)")
            }
        }
        rows["POST /v1/devices/events"] = ownOnly(.POST, { _ in "/v1/devices/events" }, fields: [("name", "x")])

        rows["GET /console/events"] = consoleOwn("/console/events")
        rows["GET /console/devices"] = consoleOwn("/console/devices")
        rows["GET /console/devices/:device"] = consoleRefused(403) { "/console/devices/\($0.device)" }
        rows["GET /console/products"] = consoleOwn("/console/products")
        rows["GET /console/products/:product"] = consoleRefused(403) { "/console/products/\($0.product)" }
        rows["GET /console/integrations"] = consoleOwn("/console/integrations")
        rows["GET /console/integrations/:id"] = consoleRefused(404) { "/console/integrations/\($0.webhook)" }
        rows["GET /console/tokens"] = consoleOwn("/console/tokens")
        rows["POST /console/tokens"] = { scene, row in
            let response = try await scene.server.request(
                .POST,
                "/console/tokens",
                headers: [
                    ("Cookie", scene.browser.cookie), ("Content-Type", "application/x-www-form-urlencoded"),
                ],
                body: TestServer.formBody([("csrf_token", scene.browser.csrf)])
            )
            #expect(response.status == 200, "\(row): \(response.status)")
            scene.revealsNothingOfBob(response, row)
        }
        rows["POST /console/tokens/revoke"] = { scene, row in
            let bobsHash = TokenHasher.hash(scene.bob.token)
            _ = try await scene.server.request(
                .POST,
                "/console/tokens/revoke",
                headers: [
                    ("Cookie", scene.browser.cookie), ("Content-Type", "application/x-www-form-urlencoded"),
                ],
                body: TestServer.formBody([("csrf_token", scene.browser.csrf), ("token_hash", bobsHash)])
            )
            try await scene.bobIsIntact(row)
        }
        // Signing out ends Ada's session only (it runs near the end).
        rows["POST /console/logout"] = { scene, row in
            _ = try await scene.server.request(
                .POST,
                "/console/logout",
                headers: [
                    ("Cookie", scene.browser.cookie), ("Content-Type", "application/x-www-form-urlencoded"),
                ],
                body: TestServer.formBody([("csrf_token", scene.browser.csrf)])
            )
            try await scene.bobIsIntact(row)
        }
        for suffix in ["", "/**"] {
            let tail = suffix.isEmpty ? "" : "/matrix"
            rows["GET /v1/events\(suffix)"] = ownStream { _ in "/v1/events\(tail)" }
            rows["GET /v1/devices/events\(suffix)"] = ownStream { _ in "/v1/devices/events\(tail)" }
            rows["GET /v1/devices/:device/events\(suffix)"] = refused(403, .GET) {
                "/v1/devices/\($0.device)/events\(tail)"
            }
            rows["GET /v1/products/:product/events\(suffix)"] = refused(403, .GET) {
                "/v1/products/\($0.product)/events\(tail)"
            }
            rows["GET /v1/products/:product/devices/:device/events\(suffix)"] = refused(403, .GET) {
                "/v1/products/\($0.product)/devices/\($0.productDevice)/events\(tail)"
            }
        }
        for kind in ["webhooks", "integrations"] {
            rows["POST /v1/\(kind)"] = ownOnly(
                .POST,
                { _ in "/v1/\(kind)" },
                fields: [("event", "matrix"), ("url", "https://example.com/ada")]
            )
            rows["GET /v1/\(kind)"] = ownOnly(.GET, { _ in "/v1/\(kind)" })
            rows["POST /v1/products/:product/\(kind)"] = refused(403, .POST) { "/v1/products/\($0.product)/\(kind)" }
            rows["GET /v1/products/:product/\(kind)"] = refused(403, .GET) { "/v1/products/\($0.product)/\(kind)" }
            for (method, tail) in [(HTTPMethod.GET, ""), (.DELETE, ""), (.GET, "/deliveries")] {
                // Bob's webhook is not found in Ada's scope; his product's is behind the product check.
                rows["\(method) /v1/\(kind)/:id\(tail)"] = refused(404, method) { "/v1/\(kind)/\($0.webhook)\(tail)" }
                rows["\(method) /v1/products/:product/\(kind)/:id\(tail)"] = refused(403, method) {
                    "/v1/products/\($0.product)/\(kind)/\($0.productWebhook)\(tail)"
                }
            }
        }
        rows["PUT /v1/integrations/:id"] = refused(404, .PUT) { "/v1/integrations/\($0.webhook)" }
        rows["PUT /v1/products/:product/integrations/:id"] = refused(403, .PUT) {
            "/v1/products/\($0.product)/integrations/\($0.productWebhook)"
        }
        rows["POST /v1/integrations/:id/test"] = refused(404, .POST) { "/v1/integrations/\($0.webhook)/test" }
        rows["POST /v1/products/:product/integrations/:id/test"] = refused(403, .POST) {
            "/v1/products/\($0.product)/integrations/\($0.productWebhook)/test"
        }
        return rows
    }()

    static func account(_ name: String, on server: TestServer) async throws -> Account {
        let email = "\(name)@example.com"
        let token = try await server.user(email)
        let product = "product-\(name)"
        #expect(try await server.form(.POST, "/v1/products", token: token, [("name", "Product \(name)")]).status == 200)
        let device = randomDeviceID()
        #expect(try await server.form(.POST, "/v1/devices", token: token, [("id", device)]).status == 200)
        let productDevice = randomDeviceID()
        _ = try await server.form(.POST, "/v1/products/\(product)/devices", token: token, [("id", productDevice)])
        let hook = [("event", "never-\(name)"), ("url", "https://example.com/\(name)")]
        let webhook = try await server.form(.POST, "/v1/webhooks", token: token, hook)
        let productWebhook = try await server.form(.POST, "/v1/products/\(product)/webhooks", token: token, hook)
        return Account(
            email: email,
            token: token,
            product: product,
            device: device,
            productDevice: productDevice,
            webhook: try #require(try JSONValue(webhook)["id"]?.stringValue),
            productWebhook: try #require(try JSONValue(productWebhook)["id"]?.stringValue)
        )
    }

    static func randomDeviceID() -> String {
        (0..<12).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
    }

    @Test func everyRouteHasARow() async throws {
        try await TestServer.with { server in
            let registered = Set(server.routes.map(\.description))
            #expect(!registered.isEmpty)
            for route in registered.sorted() where Self.rows[route] == nil {
                Issue.record("no authorization row for \(route): add one to AuthorizationMatrixTests.rows")
            }
            for row in Self.rows.keys.sorted() where !registered.contains(row) {
                Issue.record("a row for \(row), which the server does not have")
            }
        }
    }

    @Test func noAccountSeesOrChangesAnothersThings() async throws {
        try await TestServer.with { server in
            let ada = try await Self.account("ada", on: server)
            let bob = try await Self.account("bob", on: server)
            let browser = try #require(try await ConsoleTests.signIn(server).1)
            let scene = Scene(server: server, ada: ada, bob: bob, browser: (browser.cookie, browser.csrf))
            // Last, the rows that end Ada's session and tokens: the rows before them need those.
            let last = ["POST /console/logout", "DELETE /v1/access_tokens"]
            let ordered = Self.rows.keys.sorted().filter { !last.contains($0) } + last
            for row in ordered {
                try await Self.rows[row]!(scene, row)
            }
        }
    }
}
