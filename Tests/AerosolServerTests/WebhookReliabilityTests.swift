import AerosolModels
import AerosolServer
import Foundation
import Testing
import Webhooks
import WireClient

@Suite("Webhook reliability: retries, pauses, rate limits, restarts", .timeLimit(.minutes(1)))
struct WebhookReliabilityTests {
    @Test func a500IsRetriedUntilItSucceeds() async throws {
        try await WebhookReceiver.with(responder: { _, index in .init(status: index < 2 ? 500 : 200, body: "ok") }) {
            receiver in
            try await TestServer.with(configure: WebhookTesting.configure) { server in
                let token = try await server.user("ada@example.com")
                let id = try await server.createWebhook(
                    token: token,
                    #"{"event":"flaky","url":"http://127.0.0.1:\#(receiver.port)/f"}"#
                )
                let stream = try await EventStreamReader.open(server, "/v1/devices/events/hook", token: token)
                try await stream.read(until: { $0.hasPrefix(":ok") })
                try await server.publish("flaky", "1", token: token)
                let requests = try await receiver.waitFor(3)
                #expect(Set(requests.map(\.text)).count == 1)
                try await stream.read(until: { $0.contains("event: hook-response/flaky/0") })
                let errors = try WebhookTesting.data(of: "hook-error/flaky/0", in: stream.text)
                #expect(errors.count == 2)
                #expect(errors.allSatisfy { $0.hasPrefix("error status 500 from 127.0.0.1; will retry at ") })

                let log = try await server.deliveries(token: token, webhook: id)
                let attempts = try #require(log["deliveries"]?.arrayValue)
                #expect(attempts.map { $0["attempt"] } == [.int(3), .int(2), .int(1)])
                #expect(
                    attempts.map { $0["outcome"] } == [.string("delivered"), .string("retrying"), .string("retrying")]
                )
                #expect(attempts.map { $0["status"] } == [.int(200), .int(500), .int(500)])
                #expect(attempts[1]["next_retry_at"]?.stringValue != nil)
                #expect(Set(attempts.compactMap { $0["delivery_id"]?.intValue }).count == 1)
                #expect(log["status"]?["waiting"] == .int(0))
                await stream.close()
            }
        }
    }

    @Test func aFailingTargetIsPausedWithItsReasonThenResumes() async throws {
        try await WebhookReceiver.with(responder: { _, _ in .init(status: 500) }) { receiver in
            try await TestServer.with(configure: { configuration in
                WebhookTesting.configure(&configuration)
                configuration.webhooks.pauseAfterFailures = 3
                configuration.webhooks.maxAttempts = 100
                // Long enough that the log is read while the pause lasts, even on a busy machine
                // (2 s and 5 s were not, once each, with the whole suite running on 2 cores).
                configuration.webhooks.pauseBase = .seconds(10)
                configuration.webhooks.pauseMax = .seconds(20)
            }) { server in
                let token = try await server.user("ada@example.com")
                let id = try await server.createWebhook(
                    token: token,
                    #"{"event":"down","url":"http://127.0.0.1:\#(receiver.port)/d"}"#
                )
                let stream = try await EventStreamReader.open(server, "/v1/devices/events/hook", token: token)
                try await stream.read(until: { $0.hasPrefix(":ok") })
                try await server.publish("down", "1", token: token)
                try await stream.read(until: { $0.contains(ResponseEvents.sleepingMessage) })

                let log = try await server.deliveries(token: token, webhook: id)
                #expect(log["status"]?["state"] == .string("paused"))
                #expect(
                    log["status"]?["reason"]
                        == .string("Paused after 3 failures in a row; last: status 500")
                )
                #expect(log["status"]?["paused_until"]?.stringValue != nil)
                #expect(log["status"]?["waiting"] == .int(1))
                let attempts = try #require(log["deliveries"]?.arrayValue)
                #expect(attempts.count == 3)
                #expect(attempts.allSatisfy { $0["status"] == .int(500) && $0["outcome"] == .string("retrying") })
                let shown = try JSONValue(try await server.get("/v1/integrations/\(id)", token: token))
                #expect(shown["status"]?["state"] == .string("paused"))

                // The target recovers: the probe after the pause delivers, and the webhook resumes.
                receiver.respond { _, _ in .init(status: 200, body: "back") }
                try await stream.read(until: { $0.contains("event: hook-response/down/0") }, timeout: .seconds(30))
                let after = try await server.deliveries(token: token, webhook: id)
                #expect(after["status"]?["state"] == .string("active"))
                #expect(after["deliveries"]?.arrayValue?.first?["outcome"] == .string("delivered"))
                #expect(receiver.requests.count == 4)
                await stream.close()
            }
        }
    }

    @Test func theRateLimitDelaysButNeverDrops() async throws {
        // 60× faster clock: the 12-per-minute window lasts one real second.
        try await WebhookReceiver.with { receiver in
            try await TestServer.with(configure: { configuration in
                WebhookTesting.configure(&configuration)
                configuration.webhooks.defaultRateLimit = 12
                configuration.webhooks.clock = ScaledWebhookClock(speed: 60)
            }) { server in
                let token = try await server.user("ada@example.com")
                let owner = try await server.userID(token: token)
                _ = try await server.createWebhook(
                    token: token,
                    #"{"event":"burst","url":"http://127.0.0.1:\#(receiver.port)/b"}"#
                )
                let drafts = (0..<20).map {
                    EventDraft(name: "burst", data: "\($0)", coreID: "api", userID: owner, productID: nil)
                }
                _ = try await server.log.append(drafts, source: .api)
                let requests = try await receiver.waitFor(20, timeout: .seconds(20))
                #expect(requests.count == 20)
                #expect(Set(requests.map(\.text)).count == 20)
                // No 60-second (one real second) window ever holds more than 12 request starts.
                // These are arrival times, so a request delayed on a busy machine shortens the gap
                // after it (seen: 797 ms); without the limit all 20 arrive within milliseconds, so
                // half the window still tells the two apart.
                for index in 12..<requests.count {
                    let gap = requests[index - 12].at.duration(to: requests[index].at)
                    #expect(gap >= .milliseconds(500), "request \(index) came \(gap) after request \(index - 12)")
                }
            }
        }
    }

    @Test func deliveriesWaitingAtShutdownAreMadeAfterTheRestart() async throws {
        let directory = TestServer.makeDataDirectory()
        // A port with nobody listening: the receiver is "down". Reserved, so that no other
        // test's listener takes it meanwhile and receives these deliveries.
        let reserved = try ReservedPort()
        let port = reserved.port
        let token = try await TestServer.with(dataDirectory: directory, configure: Self.restartConfiguration) {
            server in
            let token = try await server.user("ada@example.com")
            let id = try await server.createWebhook(
                token: token,
                #"{"event":"keep","url":"http://127.0.0.1:\#(port)/k"}"#
            )
            let stream = try await EventStreamReader.open(server, "/v1/devices/events/hook-error", token: token)
            try await stream.read(until: { $0.hasPrefix(":ok") })
            for index in 0..<5 { try await server.publish("keep", "event-\(index)", token: token) }
            try await stream.read(until: { $0.contains("connection refused") })
            // At least the delivery that just failed waits in the outbox (the others may still
            // be in the event log, to be matched after the restart).
            let status = try await server.deliveries(token: token, webhook: id)["status"]
            #expect((status?["waiting"]?.intValue ?? 0) >= 1)
            await stream.close()
            return token
        }
        reserved.release()
        try await WebhookReceiver.with(port: port) { receiver in
            try await TestServer.with(dataDirectory: directory, configure: Self.restartConfiguration) { server in
                let requests = try await receiver.waitFor(5, timeout: .seconds(20))
                let data = Set(
                    requests.compactMap { request in
                        request.text.split(separator: "&").first { $0.hasPrefix("data=") }.map {
                            String($0.dropFirst(5))
                        }
                    }
                )
                #expect(data == Set((0..<5).map { "event-\($0)" }))
                let shown = try JSONValue(try await server.get("/v1/webhooks", token: token))
                let id = try #require(shown.arrayValue?.first?["id"]?.stringValue)
                let log = try await server.deliveries(token: token, webhook: id)
                #expect(log["deliveries"]?.arrayValue?.contains { $0["outcome"] == .string("delivered") } == true)
            }
        }
    }

    static func restartConfiguration(_ configuration: inout Configuration) {
        WebhookTesting.configure(&configuration)
        configuration.webhooks.maxAttempts = 1000
        configuration.webhooks.pauseAfterFailures = 3
    }
}
