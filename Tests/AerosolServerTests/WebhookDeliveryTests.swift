import AerosolModels
import Foundation
import Testing
import Webhooks
import WireClient

@Suite("Webhook deliveries on the wire", .timeLimit(.minutes(1)))
struct WebhookDeliveryTests {
    @Test func anAPIPublishArrivesAsTheOriginalSendsIt() async throws {
        try await WebhookReceiver.with { receiver in
            try await TestServer.with(configure: WebhookTesting.configure) { server in
                let token = try await server.user("ada@example.com")
                _ = try await server.createWebhook(
                    token: token,
                    #"{"event":"demo","url":"http://127.0.0.1:\#(receiver.port)"}"#
                )
                let stream = try await EventStreamReader.open(server, "/v1/devices/events", token: token)
                try await stream.read(until: { $0.hasPrefix(":ok") })
                try await server.publish("demo", "mydata", token: token)
                let request = try #require(try await receiver.waitFor(1).first)
                let publishedAt = try WebhookTesting.publishedAt(
                    of: "demo",
                    in: try await stream.read(until: { $0.contains("event: demo\n") })
                )
                let expected =
                    "event=demo&data=mydata&published_at=\(publishedAt.replacingOccurrences(of: ":", with: "%3A"))&coreid=api"
                #expect(request.method == "POST")
                #expect(request.uri == "/")
                #expect(request.text == expected)
                #expect(request.headers.map(\.0).prefix(3) == ["User-Agent", "host", "content-type"])
                #expect(request.header("User-Agent") == "ParticleBot/1.1 (https://docs.particle.io/webhooks)")
                #expect(request.header("host") == "127.0.0.1:\(receiver.port)")
                #expect(request.header("content-type") == "application/x-www-form-urlencoded")
                #expect(request.header("content-length") == String(expected.utf8.count))
                #expect(request.header("X-Aerosol-Event-ID") == "1")
                #expect(request.header("X-Aerosol-Signature") == nil)
                await stream.close()
            }
        }
    }

    @Test func hookEventsReachTheStreamInParts() async throws {
        let reply = String(repeating: "a", count: 512) + String(repeating: "b", count: 512) + "tail"
        try await WebhookReceiver.with(responder: { _, _ in .init(status: 200, body: reply) }) { receiver in
            try await TestServer.with(configure: WebhookTesting.configure) { server in
                let token = try await server.user("ada@example.com")
                _ = try await server.createWebhook(
                    token: token,
                    #"{"event":"get_","url":"http://127.0.0.1:\#(receiver.port)/w"}"#
                )
                let stream = try await EventStreamReader.open(server, "/v1/devices/events/hook", token: token)
                try await stream.read(until: { $0.hasPrefix(":ok") })
                try await server.publish("get_weather", "x", token: token)
                let frames = try await stream.readEvents(4)
                let normalized = try frames.map { try EventStreamTests.normalized($0) }
                #expect(
                    normalized[0] == """
                        event: hook-sent/get_weather
                        data: {"data":"undefined","ttl":60,"published_at":"T","coreid":"particle-internal"}
                        id: 2
                        """
                )
                #expect(
                    normalized[1] == """
                        event: hook-response/get_weather/0
                        data: {"data":"\(String(repeating: "a", count: 512))","ttl":60,"published_at":"T","coreid":"particle-internal"}
                        id: 3
                        """
                )
                #expect(frames[2].hasPrefix("event: hook-response/get_weather/1\ndata: {\"data\":\"bbbb"))
                #expect(try WebhookTesting.data(of: "hook-response/get_weather/2", in: stream.text) == ["tail"])
                await stream.close()
            }
        }
    }

    @Test func errorsArePublishedAndLogged() async throws {
        try await WebhookReceiver.with(responder: { _, _ in .init(status: 404, body: "nope") }) { receiver in
            try await TestServer.with(configure: WebhookTesting.configure) { server in
                let token = try await server.user("ada@example.com")
                let id = try await server.createWebhook(
                    token: token,
                    #"{"event":"demo","url":"http://127.0.0.1:\#(receiver.port)/x","errorResponseTopic":"failed/{{PARTICLE_EVENT_NAME}}"}"#
                )
                let stream = try await EventStreamReader.open(server, "/v1/devices/events", token: token)
                try await stream.read(until: { $0.hasPrefix(":ok") })
                try await server.publish("demo", "d", token: token)
                try await stream.read(until: { $0.contains("event: failed/demo/0") })
                #expect(
                    try WebhookTesting.data(of: "failed/demo/0", in: stream.text)
                        == ["error status 404 from 127.0.0.1; not retried"]
                )
                let log = try await server.deliveries(token: token, webhook: id)
                let attempt = try #require(log["deliveries"]?.arrayValue?.first)
                #expect(attempt["status"] == .int(404))
                #expect(attempt["outcome"] == .string("failed"))
                #expect(attempt["attempt"] == .int(1))
                #expect(attempt["event_id"] == .int(1))
                #expect(attempt["error"] == .string("error status 404 from 127.0.0.1"))
                #expect(attempt["next_retry_at"] == .null)
                #expect(attempt["duration_ms"]?.intValue != nil)
                await stream.close()
            }
        }
    }

    @Test func templatesQueryHeadersAndBasicAuth() async throws {
        try await WebhookReceiver.with { receiver in
            try await TestServer.with(configure: WebhookTesting.configure) { server in
                let token = try await server.user("ada@example.com")
                _ = try await server.createWebhook(
                    token: token,
                    #"""
                    {"event":"reading","url":"http://127.0.0.1:\#(receiver.port)/r/{{{PARTICLE_EVENT_NAME}}}","requestType":"GET",
                     "query":{"t":"{{temp}}"},"headers":{"X-Unit":"{{unit}}"},"auth":{"username":"me","password":"s3cret!"},
                     "noDefaults":true}
                    """#
                )
                _ = try await server.createWebhook(
                    token: token,
                    #"""
                    {"event":"reading","url":"http://127.0.0.1:\#(receiver.port)/j","noDefaults":true,
                     "json":{"t":"{{temp}}","note":"{{note}}","device":"{{{PARTICLE_DEVICE_ID}}}","fixed":7}}
                    """#
                )
                try await server.publish("reading", #"{"temp":21.5,"unit":"°C","note":"<b>&\"q\""}"#, token: token)
                let requests = try await receiver.waitFor(2)
                let get = try #require(requests.first { $0.method == "GET" })
                #expect(get.uri == "/r/reading?t=21.5")
                #expect(get.header("X-Unit") == "°C")
                #expect(get.header("Authorization") == "Basic " + Data("me:s3cret!".utf8).base64EncodedString())
                #expect(get.body.isEmpty)
                let post = try #require(requests.first { $0.method == "POST" })
                #expect(post.header("content-type") == "application/json")
                #expect(post.text == #"{"t":"21.5","note":"<b>&\"q\"","device":"api","fixed":7}"#)
            }
        }
    }

    @Test func signedRequestsVerify() async throws {
        let secret = "whsec_test_0123456789abcdef"
        try await WebhookReceiver.with { receiver in
            try await TestServer.with(configure: WebhookTesting.configure) { server in
                let token = try await server.user("ada@example.com")
                _ = try await server.createWebhook(
                    token: token,
                    #"{"event":"signed","url":"http://127.0.0.1:\#(receiver.port)/s","secret":"\#(secret)"}"#
                )
                try await server.publish("signed", "payload", token: token)
                let request = try #require(try await receiver.waitFor(1).first)
                let header = try #require(request.header("X-Aerosol-Signature"))
                #expect(header.wholeMatch(of: /t=\d+,v1=[0-9a-f]{64}/) != nil)
                #expect(WebhookSignature.verify(header, secret: secret, body: request.body))
                #expect(!WebhookSignature.verify(header, secret: secret, body: Array("forged".utf8)))
                #expect(!WebhookSignature.verify(header, secret: "another-secret-entirely", body: request.body))
            }
        }
    }

    @Test func theTestEndpointSendsASyntheticEvent() async throws {
        try await WebhookReceiver.with { receiver in
            try await TestServer.with(configure: WebhookTesting.configure) { server in
                let token = try await server.user("ada@example.com")
                let id = try await server.createWebhook(
                    token: token,
                    #"{"event":"probe","url":"http://127.0.0.1:\#(receiver.port)/t"}"#
                )
                let response = try await server.json(
                    .POST,
                    "/v1/integrations/\(id)/test",
                    token: token,
                    #"{"data":"hello","device_id":"0123456789abcdef01234567"}"#
                )
                #expect(response.status == 200)
                #expect(try JSONValue(response)["ok"] == .bool(true))
                let request = try #require(try await receiver.waitFor(1).first)
                #expect(request.text.hasPrefix("event=probe&data=hello&published_at="))
                #expect(request.text.hasSuffix("&coreid=0123456789abcdef01234567"))
            }
        }
    }

    @Test func privateTargetsFromTemplatesAreRefusedWhenSending() async throws {
        try await WebhookReceiver.with { receiver in
            try await TestServer.with { server in
                let token = try await server.user("ada@example.com")
                _ = try await server.createWebhook(token: token, #"{"event":"ssrf","url":"http://{{{target}}}/steal"}"#)
                let stream = try await EventStreamReader.open(server, "/v1/devices/events/hook", token: token)
                try await stream.read(until: { $0.hasPrefix(":ok") })
                try await server.publish("ssrf", #"{"target":"127.0.0.1:\#(receiver.port)"}"#, token: token)
                try await stream.read(until: { $0.contains("event: hook-error/ssrf/0") })
                let message = try #require(try WebhookTesting.data(of: "hook-error/ssrf/0", in: stream.text).first)
                #expect(message.hasPrefix("error 127.0.0.1 is a loopback address"))
                #expect(message.hasSuffix("; not retried"))
                #expect(!stream.text.contains("hook-sent/ssrf"))
                #expect(receiver.requests.isEmpty)
                await stream.close()
            }
        }
    }
}
