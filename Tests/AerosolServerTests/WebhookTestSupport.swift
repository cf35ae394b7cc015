import AerosolModels
import AerosolServer
import Foundation
import NIOHTTP1
import Testing
import WireClient

/// Settings and helpers of the webhook live tests.
enum WebhookTesting {
    /// Private targets allowed (the receiver is on 127.0.0.1), no rate limit, and fast
    /// retries and pauses, so that failures play out in well under a second.
    static func configure(_ configuration: inout Configuration) {
        configuration.webhooks.allowPrivateTargets = true
        configuration.webhooks.defaultRateLimit = 0
        configuration.webhooks.retryBaseDelay = .milliseconds(40)
        configuration.webhooks.retryMaxDelay = .milliseconds(200)
        configuration.webhooks.pauseAfterFailures = 0
        configuration.webhooks.pauseBase = .milliseconds(300)
        configuration.webhooks.pauseMax = .seconds(1)
        configuration.webhooks.requestTimeout = .seconds(5)
        configuration.webhooks.shutdownGrace = .seconds(1)
    }

    /// The `published_at` of the first frame of `event` in an SSE text.
    static func publishedAt(of event: String, in text: String) throws -> String {
        let frame = try #require(EventStreamReader.frames(in: text).first { $0.hasPrefix("event: \(event)\n") })
        let data = try #require(frame.split(separator: "\n").first { $0.hasPrefix("data: ") }).dropFirst(6)
        return try #require(JSONValue.parse(Array(data.utf8))["published_at"]?.stringValue)
    }

    /// The `data` of each frame named `event`, in order.
    static func data(of event: String, in text: String) throws -> [String] {
        try EventStreamReader.frames(in: text).filter { $0.hasPrefix("event: \(event)\n") }.map { frame in
            let data = try #require(frame.split(separator: "\n").first { $0.hasPrefix("data: ") }).dropFirst(6)
            return try #require(JSONValue.parse(Array(data.utf8))["data"]?.stringValue)
        }
    }
}

extension TestServer {
    /// A JSON request with a bearer token.
    func json(_ method: HTTPMethod, _ path: String, token: String, _ body: String? = nil) async throws -> WireResponse {
        try await request(
            method,
            path,
            headers: [("Content-Type", "application/json"), ("Authorization", "Bearer \(token)")],
            body: body
        )
    }

    /// Creates a webhook with `POST /v1/webhooks` and returns its id.
    func createWebhook(token: String, _ definition: String) async throws -> String {
        let response = try await json(.POST, "/v1/webhooks", token: token, definition)
        guard response.status == 201, let id = try JSONValue(response)["id"]?.stringValue else {
            throw TestFailure("webhook not created: \(response.status) \(response.text)")
        }
        return id
    }

    /// A webhook's delivery log (`GET /v1/webhooks/:id/deliveries`).
    func deliveries(token: String, webhook id: String) async throws -> JSONValue {
        let response = try await get("/v1/webhooks/\(id)/deliveries", token: token)
        guard response.status == 200 else { throw TestFailure("delivery log: \(response.status) \(response.text)") }
        return try JSONValue(response)
    }
}

extension JSONValue {
    /// The keys of an object, in order.
    var keys: [String] {
        if case .object(let members) = self { members.map(\.0) } else { [] }
    }
}
