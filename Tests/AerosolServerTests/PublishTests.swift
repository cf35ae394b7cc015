import AerosolModels
import Testing
import WireClient

@Suite("Publishing", .timeLimit(.minutes(1)))
struct PublishTests {
    @Test func formAndJSONBodiesAreAccepted() async throws {
        try await TestServer.with { server in
            let token = try await server.user("ada@example.com")
            let form = try await server.form(
                .POST,
                "/v1/devices/events",
                token: token,
                [("name", "temp"), ("data", "21"), ("private", "true"), ("ttl", "60")]
            )
            #expect(form.status == 200)
            #expect(form.text == #"{"ok":true}"#)
            let json = try await server.request(
                .POST,
                "/v1/devices/events",
                headers: [("Content-Type", "application/json"), ("Authorization", "Bearer \(token)")],
                body: #"{"name":"temp","data":"22","private":true}"#
            )
            #expect(json.text == #"{"ok":true}"#)
        }
    }

    @Test func invalidEventsGetClearErrors() async throws {
        try await TestServer.with { server in
            let token = try await server.user("ada@example.com")
            let cases: [([(String, String)], String)] = [
                ([("data", "x")], #"{"ok":false,"error":"name is required: the event name"}"#),
                ([("name", "")], #"{"ok":false,"error":"Event name must have 1 to 64 characters (got 0)"}"#),
                (
                    [("name", String(repeating: "n", count: 65))],
                    #"{"ok":false,"error":"Event name must have 1 to 64 characters (got 65)"}"#
                ),
                (
                    [("name", "bad\nname")],
                    #"{"ok":false,"error":"Event name may contain only printable ASCII characters (no line breaks or control characters)"}"#
                ),
                (
                    [("name", "big"), ("data", String(repeating: "d", count: 1025))],
                    #"{"ok":false,"error":"Event data is 1025 bytes; the limit is 1024 bytes"}"#
                ),
                ([("name", "x"), ("private", "maybe")], #"{"ok":false,"error":"private must be true or false"}"#),
                ([("name", "x"), ("ttl", "soon")], #"{"ok":false,"error":"ttl must be an integer"}"#),
            ]
            for (fields, body) in cases {
                let response = try await server.form(.POST, "/v1/devices/events", token: token, fields)
                #expect(response.status == 400, "\(fields)")
                #expect(response.text == body)
            }
            let exactly64 = try await server.form(
                .POST,
                "/v1/devices/events",
                token: token,
                [("name", String(repeating: "n", count: 64)), ("data", String(repeating: "d", count: 1024))]
            )
            #expect(exactly64.status == 200)
        }
    }

    @Test func theDataLimitIsConfigurable() async throws {
        try await TestServer.with(configure: { $0.maxEventDataBytes = 16384 }) { server in
            let token = try await server.user("ada@example.com")
            let ok = try await server.form(
                .POST,
                "/v1/devices/events",
                token: token,
                [("name", "big"), ("data", String(repeating: "d", count: 16384))]
            )
            #expect(ok.status == 200)
            let over = try await server.form(
                .POST,
                "/v1/devices/events",
                token: token,
                [("name", "big"), ("data", String(repeating: "d", count: 16385))]
            )
            #expect(over.status == 400)
        }
    }

    @Test func malformedAndOversizedBodies() async throws {
        try await TestServer.with { server in
            let token = try await server.user("ada@example.com")
            let auth = ("Authorization", "Bearer \(token)")
            let malformed = try await server.request(
                .POST,
                "/v1/devices/events",
                headers: [("Content-Type", "application/json"), auth],
                body: #"{"name": "x""#
            )
            #expect(malformed.status == 400)
            #expect(try JSONValue(malformed)["error"]?.stringValue?.hasPrefix("Malformed JSON body") == true)
            let array = try await server.request(
                .POST,
                "/v1/devices/events",
                headers: [("Content-Type", "application/json"), auth],
                body: "[1,2]"
            )
            #expect(array.text == #"{"ok":false,"error":"Malformed JSON body: expected an object"}"#)
            let badForm = try await server.request(
                .POST,
                "/v1/devices/events",
                headers: [("Content-Type", "application/x-www-form-urlencoded"), auth],
                body: "name=%zz"
            )
            #expect(badForm.status == 400)
            let huge = try await server.request(
                .POST,
                "/v1/devices/events",
                headers: [("Content-Type", "application/x-www-form-urlencoded"), auth],
                body: "name=x&data=" + String(repeating: "a", count: 70_000)
            )
            #expect(huge.status == 413)
            #expect(huge.text == #"{"ok":false,"error":"Request body too large: the limit is 65536 bytes"}"#)
            let objectName = try await server.request(
                .POST,
                "/v1/devices/events",
                headers: [("Content-Type", "application/json"), auth],
                body: #"{"name":{"a":1}}"#
            )
            #expect(objectName.text == #"{"ok":false,"error":"name must be a string"}"#)
            let xml = try await server.request(
                .POST,
                "/v1/devices/events",
                headers: [("Content-Type", "text/xml"), auth],
                body: "<x/>"
            )
            #expect(xml.status == 415)
            #expect(try JSONValue(xml)["ok"] == .bool(false))
        }
    }

    @Test func productPublishNeedsMembership() async throws {
        try await TestServer.with { server in
            let ada = try await server.user("ada@example.com")
            let bob = try await server.user("bob@example.com")
            _ = try await server.form(.POST, "/v1/products", token: ada, [("name", "Fleet")])
            try await server.publish("x", token: ada, product: "fleet")
            let foreign = try await server.form(.POST, "/v1/products/fleet/events", token: bob, [("name", "x")])
            #expect(foreign.status == 403)
        }
    }
}
