import AerosolModels
import Foundation
import Testing
import WireClient

@Suite("Webhook and integration APIs", .timeLimit(.minutes(1)))
struct WebhookAPITests {
    @Test func theLegacyAPICreatesListsShowsAndDeletes() async throws {
        try await TestServer.with(configure: WebhookTesting.configure) { server in
            let token = try await server.user("ada@example.com")
            let created = try await server.json(
                .POST,
                "/v1/webhooks",
                token: token,
                #"{"event":"demo","url":"http://127.0.0.1:9/in","auth":{"username":"u","password":"hunter2-password"},"secret":"0123456789abcdef0123"}"#
            )
            #expect(created.status == 201)
            let body = try JSONValue(created)
            #expect(body.keys == ["ok", "id", "url", "event", "created_at", "hookUrl"])
            #expect(body["ok"] == .bool(true))
            let id = try #require(body["id"]?.stringValue)
            #expect(Device.isValidID(id))
            #expect(body["url"] == .string("http://127.0.0.1:9/in"))
            #expect(body["hookUrl"] == .string("http://127.0.0.1:\(server.port)/v1/webhooks/\(id)"))

            let list = try JSONValue(try await server.get("/v1/webhooks", token: token))
            let items = try #require(list.arrayValue)
            #expect(items.count == 1)
            #expect(items.first?.keys == ["id", "event", "created_at", "url", "requestType"])
            #expect(items.first?["requestType"] == .string("POST"))

            let shown = try await server.get("/v1/webhooks/\(id)", token: token)
            #expect(shown.status == 200)
            let detail = try JSONValue(shown)
            #expect(detail["auth"] == .object([("username", .string("u"))]))
            #expect(detail["has_secret"] == .bool(true))
            #expect(detail["status"]?["state"] == .string("active"))
            // Secrets never appear in listings.
            let integrations = try await server.get("/v1/integrations", token: token)
            for text in [shown.text, integrations.text, list.serialized] {
                #expect(!text.contains("hunter2"))
                #expect(!text.contains("0123456789abcdef0123"))
            }

            let deleted = try await server.request(
                .DELETE,
                "/v1/webhooks/\(id)",
                headers: [("Authorization", "Bearer \(token)")]
            )
            #expect(deleted.text == #"{"ok":true}"#)
            let gone = try await server.get("/v1/webhooks/\(id)", token: token)
            #expect(gone.status == 404)
            #expect(gone.text == #"{"ok":false,"error":"Webhook not found"}"#)
        }
    }

    @Test func theIntegrationsAPICreatesReplacesAndDeletes() async throws {
        try await TestServer.with(configure: WebhookTesting.configure) { server in
            let token = try await server.user("ada@example.com")
            let created = try await server.json(
                .POST,
                "/v1/integrations",
                token: token,
                #"{"integration_type":"Webhook","event":"temp","url":"http://127.0.0.1:9/t","requestType":"GET","deviceid":"0123456789abcdef01234567","name":"Mine"}"#
            )
            #expect(created.status == 201)
            let object = try JSONValue(created)
            #expect(object["ok"] == nil)
            #expect(
                Array(object.keys.prefix(6)) == ["id", "integration_type", "event", "url", "requestType", "deviceID"]
            )
            #expect(object["integration_type"] == .string("Webhook"))
            let id = try #require(object["id"]?.stringValue)

            let replaced = try await server.json(
                .PUT,
                "/v1/integrations/\(id)",
                token: token,
                #"{"integration_type":"Webhook","event":"humidity","url":"http://127.0.0.1:9/h"}"#
            )
            #expect(replaced.status == 200)
            let after = try JSONValue(try await server.get("/v1/integrations/\(id)", token: token))
            #expect(after["event"] == .string("humidity"))
            #expect(after["requestType"] == .string("POST"))
            #expect(after["deviceID"] == nil)
            #expect(after["name"] == nil)

            let other = try await server.user("bob@example.com")
            #expect(try await server.get("/v1/integrations/\(id)", token: other).status == 404)
            #expect(try JSONValue(try await server.get("/v1/integrations", token: other)) == .array([]))

            let unsupported = try await server.json(
                .POST,
                "/v1/integrations",
                token: token,
                #"{"integration_type":"AzureIotHub","event":"x","url":"http://127.0.0.1:9/"}"#
            )
            #expect(unsupported.status == 400)
            #expect(
                unsupported.text
                    == #"{"ok":false,"error":"integration_type AzureIotHub is not supported: Aerosol supports Webhook"}"#
            )

            let deleted = try await server.request(
                .DELETE,
                "/v1/integrations/\(id)",
                headers: [("Authorization", "Bearer \(token)")]
            )
            #expect(deleted.status == 204)
            #expect(try await server.get("/v1/integrations/\(id)", token: token).status == 404)
        }
    }

    @Test func productWebhooksBelongToTheProduct() async throws {
        try await TestServer.with(configure: WebhookTesting.configure) { server in
            let token = try await server.user("ada@example.com")
            _ = try await server.form(.POST, "/v1/products", token: token, [("name", "Fleet")])
            let created = try await server.json(
                .POST,
                "/v1/products/fleet/webhooks",
                token: token,
                #"{"event":"temp","url":"http://127.0.0.1:9/p"}"#
            )
            #expect(created.status == 201)
            let id = try #require(try JSONValue(created)["id"]?.stringValue)
            #expect(
                try JSONValue(created)["hookUrl"]
                    == .string("http://127.0.0.1:\(server.port)/v1/products/fleet/webhooks/\(id)")
            )
            let productList = try JSONValue(try await server.get("/v1/products/fleet/integrations", token: token))
            #expect(productList.arrayValue?.first?["product_id"] == .int(1))
            #expect(try JSONValue(try await server.get("/v1/webhooks", token: token)) == .array([]))
            #expect(try await server.get("/v1/webhooks/\(id)", token: token).status == 404)

            let stranger = try await server.user("eve@example.com")
            #expect(try await server.get("/v1/products/fleet/webhooks", token: stranger).status == 403)
            let device = try await server.json(
                .POST,
                "/v1/products/fleet/webhooks",
                token: token,
                #"{"event":"temp","url":"http://127.0.0.1:9/p","deviceID":"0123456789abcdef01234567"}"#
            )
            #expect(device.text == #"{"ok":false,"error":"deviceID applies to sandbox webhooks only"}"#)
        }
    }

    @Test func invalidDefinitionsGetA400WithAClearMessage() async throws {
        try await TestServer.with(configure: WebhookTesting.configure) { server in
            let token = try await server.user("ada@example.com")
            let cases: [(String, String)] = [
                (
                    #"{"event":"x","url":"ftp://h.com/"}"#,
                    #"url must be an http:// or https:// URL (got \"ftp://h.com/\")"#
                ),
                (
                    #"{"event":"x","url":"http://h.com/{{#open}}"}"#,
                    "Invalid Mustache template in url: a section is not closed (line 1, column 23)"
                ),
                (
                    #"{"event":"x","url":"http://h.com/","requestType":"TRACE"}"#,
                    "requestType must be GET, POST, PUT, DELETE or PATCH (got TRACE)"
                ),
                (
                    #"{"event":"x","url":"http://h.com/","json":{"a":"1"},"body":"b"}"#,
                    "json, form and body are mutually exclusive: give at most one (got json and body)"
                ),
                (#"{"url":"http://h.com/"}"#, "event is required: the event name prefix that triggers the webhook"),
            ]
            for (definition, message) in cases {
                let response = try await server.json(.POST, "/v1/webhooks", token: token, definition)
                #expect(response.status == 400, "\(definition)")
                #expect(response.text == #"{"ok":false,"error":"\#(message)"}"#)
            }
            // Form bodies work too, objects in brackets.
            let form = try await server.form(
                .POST,
                "/v1/webhooks",
                token: token,
                [("event", "f"), ("url", "http://127.0.0.1:9/"), ("headers[X-Key]", "v"), ("noDefaults", "true")]
            )
            #expect(form.status == 201)
            let id = try #require(try JSONValue(form)["id"]?.stringValue)
            let shown = try JSONValue(try await server.get("/v1/webhooks/\(id)", token: token))
            #expect(shown["headers"] == .object([("X-Key", .string("v"))]))
            #expect(shown["noDefaults"] == .bool(true))
        }
    }

    @Test func privateTargetsAreRefusedWithoutTheFlag() async throws {
        try await TestServer.with { server in
            let token = try await server.user("ada@example.com")
            let loopback = try await server.json(
                .POST,
                "/v1/webhooks",
                token: token,
                #"{"event":"x","url":"http://127.0.0.1:8080/in"}"#
            )
            #expect(loopback.status == 400)
            #expect(
                loopback.text
                    == #"{"ok":false,"error":"url is not allowed: 127.0.0.1 is a loopback address; webhooks may only call public addresses unless the server runs with --allow-private-webhooks"}"#
            )
            for url in [
                "http://localhost:8080/", "http://169.254.169.254/latest/meta-data", "http://[::1]/",
                "http://10.0.0.7/",
            ] {
                let response = try await server.json(
                    .POST,
                    "/v1/integrations",
                    token: token,
                    #"{"event":"x","url":"\#(url)"}"#
                )
                #expect(response.status == 400, "\(url)")
                #expect(response.text.contains("url is not allowed"), "\(url)")
            }
        }
    }
}
