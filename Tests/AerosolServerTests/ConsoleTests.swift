import AerosolModels
import AerosolServer
import AerosolStore
import AerosolTesting
import Foundation
import Testing
import WireClient

@Suite("The web console on the server: sessions, CSRF, pages (issue 6)", .timeLimit(.minutes(1)))
struct ConsoleTests {
    /// A signed-in browser: the session cookie and the page's CSRF token.
    struct Browser {
        var cookie: String
        var csrf: String
    }

    static func value(of cookie: String, in response: WireResponse) -> String? {
        for field in response.head.headers[canonicalForm: "Set-Cookie"] {
            let pair = field.split(separator: ";").first.map(String.init) ?? ""
            if pair.hasPrefix(cookie + "=") { return String(pair.dropFirst(cookie.count + 1)) }
        }
        return nil
    }

    static func hidden(_ name: String, in html: String) -> String? {
        guard let range = html.range(of: #"name="\#(name)" value=""#) else { return nil }
        return String(html[range.upperBound...].prefix { $0 != "\"" })
    }

    static func signIn(_ server: TestServer, password: String = "correct-horse") async throws -> (
        WireResponse, Browser?
    ) {
        let form = try await server.request(.GET, "/console/login")
        let nonce = try #require(value(of: "aerosol_login", in: form))
        #expect(hidden("csrf_token", in: form.text) == nonce)
        let body = TestServer.formBody([("csrf_token", nonce), ("email", "ada@example.com"), ("password", password)])
        let answer = try await server.request(
            .POST,
            "/console/login",
            headers: [("Content-Type", "application/x-www-form-urlencoded"), ("Cookie", "aerosol_login=\(nonce)")],
            body: body
        )
        guard let session = value(of: "aerosol_session", in: answer), !session.isEmpty else { return (answer, nil) }
        let page = try await server.request(
            .GET,
            "/console/events",
            headers: [("Cookie", "aerosol_session=\(session)")]
        )
        let csrf = try #require(page.text.firstMatch(of: /name="csrf-token" content="([0-9a-f]+)"/)?.1)
        return (answer, Browser(cookie: "aerosol_session=\(session)", csrf: String(csrf)))
    }

    @Test func signInSetsAStrictHttpOnlyCookieAndPagesNeedIt() async throws {
        try await TestServer.with { server in
            try await server.createUser("ada@example.com")
            let root = try await server.request(.GET, "/")
            #expect(root.status == 303)
            #expect(root.header("Location") == "/console")
            // Signed out, every page leads to the sign-in form.
            for page in ["/console", "/console/events", "/console/devices", "/console/tokens"] {
                let answer = try await server.request(.GET, page)
                #expect(answer.status == 303, "\(page)")
                #expect(answer.header("Location") == "/console/login", "\(page)")
            }
            let (wrong, nobody) = try await Self.signIn(server, password: "wrong")
            #expect(nobody == nil)
            #expect(wrong.status == 401)
            #expect(wrong.text.contains("Wrong email or password."))

            let (answer, browser) = try await Self.signIn(server)
            #expect(answer.status == 303)
            #expect(answer.header("Location") == "/console/events")
            let setCookie = answer.head.headers[canonicalForm: "Set-Cookie"].first { $0.hasPrefix("aerosol_session=") }
            let attributes = try #require(setCookie).lowercased()
            #expect(attributes.contains("httponly"))
            #expect(attributes.contains("samesite=strict"))
            #expect(attributes.contains("path=/"))
            #expect(!attributes.contains("secure"))
            let signedIn = try #require(browser)
            for page in ["events", "devices", "products", "integrations", "tokens"] {
                let html = try await server.request(.GET, "/console/\(page)", headers: [("Cookie", signedIn.cookie)])
                #expect(html.status == 200, "\(page)")
                #expect(html.header("Content-Type") == "text/html; charset=utf-8")
                #expect(html.text.contains("ada@example.com"))
                #expect(html.text.contains(#"aria-current="page""#))
            }
            let css = try await server.request(.GET, "/console/static/console.css")
            #expect(css.header("Content-Type") == "text/css; charset=utf-8")
            let missing = try await server.request(.GET, "/console/static/nope.js")
            #expect(missing.status == 404)
        }
    }

    @Test func aLoginPostWithoutItsFormTokenIsRefused() async throws {
        try await TestServer.with { server in
            try await server.createUser("ada@example.com")
            // A cross-site form post cannot know the nonce in the victim's cookie.
            let forged = try await server.request(
                .POST,
                "/console/login",
                headers: [("Content-Type", "application/x-www-form-urlencoded"), ("Cookie", "aerosol_login=abc")],
                body: TestServer.formBody([
                    ("csrf_token", "xyz"), ("email", "ada@example.com"), ("password", "correct-horse"),
                ])
            )
            #expect(forged.status == 403)
            #expect(Self.value(of: "aerosol_session", in: forged) == nil)
        }
    }

    @Test func cookieRequestsThatChangeSomethingNeedTheCSRFToken() async throws {
        try await TestServer.with { server in
            try await server.createUser("ada@example.com")
            let browser = try #require(try await Self.signIn(server).1)
            let json = ("Content-Type", "application/json")
            let forged = try await server.request(
                .POST,
                "/v1/products",
                headers: [("Cookie", browser.cookie), json],
                body: #"{"name":"Forged"}"#
            )
            #expect(forged.status == 403)
            #expect(forged.text.hasPrefix(#"{"ok":false,"error":"Missing or wrong CSRF token""#))
            let wrong = try await server.request(
                .POST,
                "/v1/devices/events",
                headers: [("Cookie", browser.cookie), ("X-CSRF-Token", String(repeating: "0", count: 64)), json],
                body: #"{"name":"temp"}"#
            )
            #expect(wrong.status == 403)
            // Reading needs no token; changing with the token works.
            let list = try await server.request(.GET, "/v1/products", headers: [("Cookie", browser.cookie)])
            #expect(list.status == 200)
            let made = try await server.request(
                .POST,
                "/v1/products",
                headers: [("Cookie", browser.cookie), ("X-CSRF-Token", browser.csrf), json],
                body: #"{"name":"Real"}"#
            )
            #expect(made.status == 200, "\(made.text)")
            // Sign-out is a form: without the token nothing happens.
            let logout = try await server.request(
                .POST,
                "/console/logout",
                headers: [("Cookie", browser.cookie), ("Content-Type", "application/x-www-form-urlencoded")],
                body: ""
            )
            #expect(logout.status == 403)
            #expect(
                try await server.request(.GET, "/console/events", headers: [("Cookie", browser.cookie)]).status == 200
            )
        }
    }

    @Test func signingOutEndsTheSessionAndItsStreams() async throws {
        try await TestServer.with { server in
            try await server.createUser("ada@example.com")
            let browser = try #require(try await Self.signIn(server).1)
            let stream = try await EventStreamReader.open(
                server,
                "/v1/devices/events",
                token: nil,
                headers: [("Cookie", browser.cookie)]
            )
            try await stream.read(until: { $0.hasPrefix(":ok") })
            let logout = try await server.request(
                .POST,
                "/console/logout",
                headers: [("Cookie", browser.cookie), ("Content-Type", "application/x-www-form-urlencoded")],
                body: TestServer.formBody([("csrf_token", browser.csrf)])
            )
            #expect(logout.status == 303)
            #expect(logout.header("Location") == "/console/login")
            #expect(Self.value(of: "aerosol_session", in: logout) == "")
            try await stream.readToEnd()
            let page = try await server.request(.GET, "/console/events", headers: [("Cookie", browser.cookie)])
            #expect(page.header("Location") == "/console/login")
            let api = try await server.request(.GET, "/v1/devices", headers: [("Cookie", browser.cookie)])
            #expect(api.status == 401)
        }
    }

    @Test func sessionsExpire() async throws {
        let clock = ManualClock()
        try await TestServer.with(configure: { $0.clock = clock }) { server in
            try await server.createUser("ada@example.com")
            let browser = try #require(try await Self.signIn(server).1)
            clock.advance(by: .seconds(12 * 3600 - 60))
            #expect(
                try await server.request(.GET, "/console/tokens", headers: [("Cookie", browser.cookie)]).status == 200
            )
            // The default session lasts 12 hours.
            clock.advance(by: .seconds(120))
            let page = try await server.request(.GET, "/console/tokens", headers: [("Cookie", browser.cookie)])
            #expect(page.status == 303)
            #expect(page.header("Location") == "/console/login")
            let api = try await server.request(.GET, "/v1/devices", headers: [("Cookie", browser.cookie)])
            #expect(api.status == 401)
            #expect(api.text.contains("The access token provided has expired."))
        }
    }

    @Test func theDevicePageFlashesAFileWithTheSessionAndItsCSRFToken() async throws {
        try await TestServer.with { server in
            try await server.createUser("ada@example.com")
            let (_, signedIn) = try await Self.signIn(server)
            let browser = try #require(signedIn)
            let token = try await server.login("ada@example.com")
            _ = try await server.form(.POST, "/v1/devices", token: token, [("id", "0123456789abcdef01234567")])
            let page = try await server.request(
                .GET,
                "/console/devices/0123456789abcdef01234567",
                headers: [("Cookie", browser.cookie)]
            )
            #expect(page.text.contains(#"<form class="flash">"#), "\(page.text)")
            let script = try await server.request(.GET, "/console/static/device.js")
            #expect(script.text.contains(#"upload("PUT", `/v1/devices/${segment(device)}`, body)"#))

            // What the page's script sends: the cookie, the CSRF token, a multipart body.
            let (contentType, body) = TestFirmware.multipart(TestFirmware.application(size: 3_000))
            func put(_ headers: [(String, String)]) async throws -> WireResponse {
                let connection = try await server.connect()
                let response = try await connection.request(
                    .PUT,
                    "/v1/devices/0123456789abcdef01234567",
                    headers: [("Content-Type", contentType), ("Cookie", browser.cookie)] + headers,
                    bytes: body
                )
                await connection.close()
                return response
            }
            let withoutToken = try await put([])
            #expect(withoutToken.status == 403, "\(withoutToken.text)")
            // Signed in and allowed: the device is simply not connected.
            let offline = try await put([("X-CSRF-Token", browser.csrf)])
            #expect(offline.status == 404, "\(offline.text)")
            #expect(offline.text == #"{"ok":false,"error":"Device is not connected"}"#)
        }
    }

    @Test func theProductPageUploadsListsAndReleasesFirmwareWithTheSession() async throws {
        try await TestServer.with { server in
            try await server.createUser("ada@example.com")
            let (_, signedIn) = try await Self.signIn(server)
            let browser = try #require(signedIn)
            let token = try await server.login("ada@example.com")
            _ = try await server.form(.POST, "/v1/products", token: token, [("name", "Lamps")])
            func page() async throws -> String {
                try await server.request(.GET, "/console/products/lamps", headers: [("Cookie", browser.cookie)]).text
            }
            let empty = try await page()
            #expect(empty.contains("No firmware uploaded yet."))
            #expect(empty.contains(#"<form id="upload-firmware" class="card" data-product="lamps">"#))
            let script = try await server.request(.GET, "/console/static/products.js")
            #expect(script.text.contains(#"upload("POST", `/v1/products/${product}/firmware`, body)"#))
            #expect(script.text.contains(#"api("PUT", `/v1/products/${product}/firmware/release`"#))

            // What the page's script sends: the cookie, the CSRF token, a multipart body.
            let (contentType, body) = TestFirmware.multipart(
                TestFirmware.application(size: 4_000, productVersion: 3),
                fields: [("version", "3"), ("title", "Night mode"), ("description", "")]
            )
            let connection = try await server.connect()
            let uploaded = try await connection.request(
                .POST,
                "/v1/products/lamps/firmware",
                headers: [("Content-Type", contentType), ("Cookie", browser.cookie), ("X-CSRF-Token", browser.csrf)],
                bytes: body
            )
            await connection.close()
            #expect(uploaded.status == 200, "\(uploaded.text)")
            let listed = try await page()
            #expect(listed.contains(#"<tr data-version="3"><td class="title">3</td>"#), "\(listed)")
            #expect(listed.contains("<td data-label=\"Title\">Night mode</td>"))
            #expect(listed.contains(#"<button type="button" class="release" data-version="3">Release</button>"#))

            let released = try await server.request(
                .PUT,
                "/v1/products/lamps/firmware/release",
                headers: [
                    ("Cookie", browser.cookie), ("X-CSRF-Token", browser.csrf), ("Content-Type", "application/json"),
                ],
                body: #"{"version":3,"product_default":true}"#
            )
            #expect(released.status == 200, "\(released.text)")
            let current = try await page()
            #expect(current.contains(#"<td class="title">3 <span class="badge online">released</span></td>"#))
            #expect(!current.contains(#"class="release""#))
        }
    }

    @Test func pagesShowOnlyWhatTheAPIWouldAndEscapeWhatTheyShow() async throws {
        try await TestServer.with { server in
            try await server.createUser("ada@example.com")
            let eve = try await server.user("eve@example.com")
            _ = try await server.form(.POST, "/v1/devices", token: eve, [("id", "0123456789abcdef01234567")])
            _ = try await server.form(.POST, "/v1/products", token: eve, [("name", "Eve's secret fleet")])
            let browser = try #require(try await Self.signIn(server).1)
            let other = try await server.request(
                .GET,
                "/console/devices/0123456789abcdef01234567",
                headers: [("Cookie", browser.cookie)]
            )
            #expect(other.status == 403)
            #expect(other.text.contains("Permission Denied"))
            let notMine = try await server.request(
                .GET,
                "/console/products/eve-s-secret-fleet",
                headers: [("Cookie", browser.cookie)]
            )
            #expect(notMine.status == 403 || notMine.status == 404)

            let made = try await server.request(
                .POST,
                "/v1/products",
                headers: [
                    ("Cookie", browser.cookie), ("X-CSRF-Token", browser.csrf), ("Content-Type", "application/json"),
                ],
                body: #"{"name":"<script>alert(1)</script>"}"#
            )
            #expect(made.status == 200, "\(made.text)")
            let products = try await server.request(.GET, "/console/products", headers: [("Cookie", browser.cookie)])
            #expect(!products.text.contains("<script>alert(1)"))
            #expect(products.text.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
            #expect(!products.text.contains("secret fleet"))
        }
    }

    @Test func tokensAreCreatedWithAnExpiryFromTheTokensPage() async throws {
        try await TestServer.with { server in
            try await server.createUser("ada@example.com")
            let browser = try #require(try await Self.signIn(server).1)
            let made = try await server.request(
                .POST,
                "/console/tokens",
                headers: [("Cookie", browser.cookie), ("Content-Type", "application/x-www-form-urlencoded")],
                body: TestServer.formBody([("csrf_token", browser.csrf), ("expires_hours", "24")])
            )
            #expect(made.status == 200)
            let token = try #require(made.text.firstMatch(of: /<code class="token">([0-9a-f]{40})<\/code>/)?.1)
            let devices = try await server.get("/v1/devices", token: String(token))
            #expect(devices.status == 200)
            let refused = try await server.request(
                .POST,
                "/console/tokens",
                headers: [("Cookie", browser.cookie), ("Content-Type", "application/x-www-form-urlencoded")],
                body: TestServer.formBody([("expires_hours", "24")])
            )
            #expect(refused.status == 403)
        }
    }

    @Test func onlyAConsoleSessionRidesInTheCookieAndTokensAreRevokedOnlyByTheirOwner() async throws {
        try await TestServer.with { server in
            try await server.createUser("ada@example.com")
            let browser = try #require(try await Self.signIn(server).1)
            // An API token put in the cookie is not a session.
            let apiToken = try await server.login("ada@example.com")
            let planted = try await server.request(
                .GET,
                "/v1/devices",
                headers: [("Cookie", "aerosol_session=\(apiToken)")]
            )
            #expect(planted.status == 401)
            // Revoking someone else's token by its hash does nothing.
            let eve = try await server.user("eve@example.com")
            let revoke = try await server.request(
                .POST,
                "/console/tokens/revoke",
                headers: [("Cookie", browser.cookie), ("Content-Type", "application/x-www-form-urlencoded")],
                body: TestServer.formBody([("csrf_token", browser.csrf), ("token_hash", TokenHasher.hash(eve))])
            )
            #expect(revoke.status == 303)
            #expect(try await server.get("/v1/devices", token: eve).status == 200)
            // Her own token goes; the page never shows a whole token.
            let own = try await server.request(
                .POST,
                "/console/tokens/revoke",
                headers: [("Cookie", browser.cookie), ("Content-Type", "application/x-www-form-urlencoded")],
                body: TestServer.formBody([("csrf_token", browser.csrf), ("token_hash", TokenHasher.hash(apiToken))])
            )
            #expect(own.status == 303)
            #expect(try await server.get("/v1/devices", token: apiToken).status == 401)
            let page = try await server.request(.GET, "/console/tokens", headers: [("Cookie", browser.cookie)])
            #expect(!page.text.contains(String(browser.cookie.dropFirst("aerosol_session=".count))))
        }
    }
}
