import AerosolModels
import AerosolServer
import AerosolStore
import AerosolTesting
import Foundation
import Testing
import WireClient

/// Nodes of one cloud on one PostgreSQL database (run when the tests run on PostgreSQL).
@Suite(
    "Nodes on one PostgreSQL database",
    .timeLimit(.minutes(2)),
    .enabled(if: TestDatabases.engine == .postgres)
)
struct ClusterTests {
    @Test func anEventPublishedOnOneNodeReachesStreamsOnTheOthersAndResumesOnAnyNode() async throws {
        try await TestCluster.with(nodes: 3) { nodes in
            let (a, b, c) = (nodes[0], nodes[1], nodes[2])
            try await a.createUser("ada@example.com")
            let token = try await b.login("ada@example.com")
            let onB = try await EventStreamReader.open(b, "/v1/devices/events", token: token)
            try await onB.read(until: { $0 == ":ok\n\n" })
            try await a.publish("temperature", "25.34", token: token)
            _ = try await onB.readEvents(1)
            #expect(
                try EventStreamTests.normalized(onB.text) == """
                    :ok

                    event: temperature
                    data: {"data":"25.34","ttl":60,"published_at":"T","coreid":"api"}
                    id: 1


                    """
            )
            // Published on C while the client is away; it comes back on A from the id it saw on B.
            try await c.publish("humidity", "40", token: token)
            try await c.publish("pressure", "1013", token: token)
            await onB.close()
            let onA = try await EventStreamReader.open(
                a,
                "/v1/devices/events",
                token: token,
                headers: [("Last-Event-ID", "1")]
            )
            let replayed = try await onA.readEvents(2)
            #expect(ReplayTests.ids(replayed) == [2, 3])
            #expect(replayed.map { $0.split(separator: "\n").first } == ["event: humidity", "event: pressure"])
            await onA.close()
        }
    }

    @Test func eventsPublishedOnTwoNodesAtOnceReachEveryStreamInOneOrderWithoutGaps() async throws {
        try await TestCluster.with(nodes: 3) { nodes in
            try await nodes[0].createUser("ada@example.com")
            let token = try await nodes[0].login("ada@example.com")
            var streams: [EventStreamReader] = []
            for node in nodes {
                let stream = try await EventStreamReader.open(node, "/v1/devices/events", token: token)
                try await stream.read(until: { $0 == ":ok\n\n" })
                streams.append(stream)
            }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (index, node) in nodes.prefix(2).enumerated() {
                    group.addTask {
                        for count in 1...100 { try await node.publish("n\(index)", "\(count)", token: token) }
                    }
                }
                try await group.waitForAll()
            }
            var orders: [[String]] = []
            for stream in streams {
                let frames = try await stream.readEvents(200, timeout: .seconds(30))
                #expect(ReplayTests.ids(frames) == Array(1...200))
                orders.append(frames.map { $0.split(separator: "\n").prefix(2).joined(separator: "\n") })
                await stream.close()
            }
            // Every node saw the same events under the same ids.
            #expect(orders[0] == orders[1])
            #expect(orders[0] == orders[2])
            for index in 0..<2 {
                let data = orders[0].filter { $0.hasPrefix("event: n\(index)\n") }.map {
                    $0.split(separator: "\"")[3]
                }
                #expect(data == (1...100).map { Substring("\($0)") }, "node \(index)'s events in its order")
            }
        }
    }

    @Test func aNodeWithAnotherSecretIsRefusedWithTheFileToCopy() async throws {
        try await TestCluster.with(nodes: 1) { nodes in
            let stranger = TestServer.makeDataDirectory()
            defer { try? FileManager.default.removeItem(atPath: stranger) }
            let url = try #require(try await TestDatabases.url(for: nodes[0].dataDirectory))
            do {
                try await TestServer.with(dataDirectory: stranger, configure: { $0.databaseURL = url }) { _ in }
                Issue.record("a node with its own secret started")
            } catch let error as StoreError {
                #expect(
                    error.message
                        == "\(stranger)/server-secret.key differs from the one the database's first node uses: every node on one database needs the same server-secret.key, server-key.pem and server-key-ec.pem (copy them from the first node's data directory)"
                )
            }
        }
    }

    @Test func theLimitsPerClientAddressCountEveryNodesRequests() async throws {
        try await TestCluster.with(nodes: 2, configure: { $0.clientLimits.requests = 10 }) { nodes in
            let (a, b) = (nodes[0], nodes[1])
            for _ in 1...6 { #expect(try await a.request(.GET, "/v1/devices").status == 400) }
            // Each node writes its counts and reads the others' once a second.
            try await Task.sleep(for: .seconds(3))
            for _ in 1...4 { #expect(try await b.request(.GET, "/v1/devices").status == 400) }
            let refused = try await b.request(.GET, "/v1/devices")
            #expect(refused.status == 429, "B counts A's 6 requests with its own 4")
            #expect(Int(refused.header("Retry-After") ?? "") ?? 0 >= 1)
            try await Task.sleep(for: .seconds(3))
            #expect(try await a.request(.GET, "/v1/devices").status == 429, "and A counts B's")
        }
    }

    @Test func aTokenRevokedThroughOneNodeStopsWorkingOnTheOthersWithinASecond() async throws {
        try await TestCluster.with(nodes: 2) { nodes in
            let (a, b) = (nodes[0], nodes[1])
            let token = try await a.user("ada@example.com")
            #expect(try await b.get("/v1/devices", token: token).status == 200)
            let revoked = try await a.request(
                .DELETE,
                "/v1/access_tokens/current",
                headers: [("Authorization", "Bearer \(token)")]
            )
            #expect(revoked.status == 200, "\(revoked.text)")
            try await Task.sleep(for: .milliseconds(1_500))
            #expect(try await b.get("/v1/devices", token: token).status == 401, "B cached it for at most a second")
        }
    }

    @Test func theSignInLockoutCountsFailuresOnEveryNode() async throws {
        try await TestCluster.with(nodes: 2, configure: { $0.signInFailureLimit = 4 }) { nodes in
            let (a, b) = (nodes[0], nodes[1])
            try await a.createUser("ada@example.com")
            for attempt in 1...2 {
                #expect(try await SignInLockoutTests.passwordGrant(a, password: "guess-a\(attempt)").status == 400)
            }
            try await Task.sleep(for: .seconds(3))
            for attempt in 1...2 {
                #expect(try await SignInLockoutTests.passwordGrant(b, password: "guess-b\(attempt)").status == 400)
            }
            // Four failures across the nodes: locked on B at once, and on A once it has read B's.
            #expect(try await SignInLockoutTests.passwordGrant(b, password: "correct-horse").status == 429)
            try await Task.sleep(for: .seconds(3))
            let locked = try await SignInLockoutTests.passwordGrant(a, password: "correct-horse")
            #expect(locked.status == 429)
            #expect(Int(locked.retryAfter ?? "") ?? 0 > 1_700)
        }
    }

    @Test func aWebhookCreatedThroughANodeThatDoesNotDeliverMatchesEventsFromItsCreation() async throws {
        try await WebhookReceiver.with { receiver in
            try await TestCluster.with(nodes: 2, configure: WebhookTesting.configure) { nodes in
                try await nodes[0].createUser("ada@example.com")
                let token = try await nodes[0].login("ada@example.com")
                try await nodes[0].publish("g", "before", token: token)
                // The first node delivers; the webhook is created through the second, and the
                // events follow at once, before the first has loaded it (within a second).
                _ = try await nodes[1].createWebhook(
                    token: token,
                    #"{"event":"g","url":"http://127.0.0.1:\#(receiver.port)"}"#
                )
                for count in 1...6 { try await nodes[count % 2].publish("g", "\(count)", token: token) }
                _ = try await receiver.waitFor(6)
                try await Task.sleep(for: .seconds(1))
                let data = receiver.requests.compactMap(KilledNodeTests.data)
                #expect(data.sorted() == (1...6).map(String.init), "each once, none from before the webhook")
            }
        }
    }

    @Test func webhooksAreDeliveredOnceAcrossNodesAndAnotherNodeTakesOverWhenTheLeaderStops() async throws {
        try await WebhookReceiver.with { receiver in
            try await TestCluster.with(nodes: 2, configure: WebhookTesting.configure) { nodes in
                try await nodes[0].createUser("ada@example.com")
                let token = try await nodes[0].login("ada@example.com")
                let id = try await nodes[1].createWebhook(
                    token: token,
                    #"{"event":"n","url":"http://127.0.0.1:\#(receiver.port)"}"#
                )
                // Every node learns of a webhook created on another within about a second.
                for node in nodes {
                    let deadline = ContinuousClock.now + .seconds(5)
                    while try await node.get("/v1/webhooks/\(id)", token: token).status != 200 {
                        guard ContinuousClock.now < deadline else { throw TestFailure("webhook unknown on a node") }
                        try await Task.sleep(for: .milliseconds(50))
                    }
                }
                for count in 1...40 { try await nodes[count % 2].publish("n", "\(count)", token: token) }
                _ = try await receiver.waitFor(40)
                // The first node to start leads; it stops, and the other takes over.
                await nodes[0].shutdown()
                for count in 41...60 { try await nodes[1].publish("n", "\(count)", token: token) }
                _ = try await receiver.waitFor(60, timeout: .seconds(30))
                try await Task.sleep(for: .milliseconds(500))
                // Each event once (their ids interleave with the hook-sent events the deliveries publish).
                let ids = receiver.requests.compactMap { $0.header("X-Aerosol-Event-ID") }
                #expect(ids.count == 60 && Set(ids).count == 60, "each event delivered once")
                let data = receiver.requests.compactMap { request in
                    request.text.split(separator: "&").first { $0.hasPrefix("data=") }.map { String($0.dropFirst(5)) }
                }
                #expect(Set(data) == Set((1...60).map(String.init)))
            }
        }
    }
}

/// A node killed with SIGKILL (the real `aerosol serve` in a child process) while it delivers.
@Suite("A killed node", .timeLimit(.minutes(2)), .enabled(if: TestDatabases.engine == .postgres))
struct KilledNodeTests {
    @Test func deliveriesInFlightOnAKilledNodeAreFinishedByAnother() async throws {
        try await WebhookReceiver.with { receiver in
            try await TestCluster.withKillableNode(
                arguments: ["--allow-private-webhooks", "--webhook-rate-limit", "0"],
                configure: WebhookTesting.configure
            ) { child, node in
                try await node.createUser("ada@example.com")
                let token = try await node.login("ada@example.com")
                _ = try await node.createWebhook(
                    token: token,
                    #"{"event":"k","url":"http://127.0.0.1:\#(receiver.port)"}"#
                )
                // The child started first and delivers; it knows the webhook within a second.
                try await Task.sleep(for: .seconds(2))
                for count in 1...4 { try await node.publish("k", "\(count)", token: token) }
                _ = try await receiver.waitFor(4)
                // Recorded as delivered, by the child; the next ones are held by the receiver
                // when it dies.
                try await Task.sleep(for: .seconds(1))
                let connection = try await WireConnection.connect(port: child.port)
                let metrics = try await connection.request(.GET, "/metrics").text
                await connection.close()
                #expect(
                    metrics.contains(#"aerosol_webhook_attempts_total{outcome="delivered"} 4"#),
                    "the child delivers"
                )
                receiver.respond { _, _ in WebhookReceiver.Reply(delay: .seconds(30)) }
                for count in 5...8 { try await node.publish("k", "\(count)", token: token) }
                _ = try await receiver.waitFor(5)
                await child.kill()
                let killedAt = ContinuousClock.now
                receiver.respond { _, _ in WebhookReceiver.Reply() }
                let deadline = ContinuousClock.now + .seconds(30)
                func after() -> [String] {
                    receiver.requests.filter { $0.at > killedAt }.compactMap(Self.data)
                }
                while Set(after()) != Set((5...8).map(String.init)) {
                    guard ContinuousClock.now < deadline else {
                        throw TestFailure("delivered after the kill: \(after().sorted())")
                    }
                    try await Task.sleep(for: .milliseconds(100))
                }
                // What the killed node had finished is not made again.
                let all = receiver.requests.compactMap(Self.data)
                for finished in 1...4 { #expect(all.filter { $0 == String(finished) }.count == 1) }
            }
        }
    }

    static func data(_ request: WebhookReceiver.Received) -> String? {
        request.text.split(separator: "&").first { $0.hasPrefix("data=") }.map { String($0.dropFirst(5)) }
    }
}
