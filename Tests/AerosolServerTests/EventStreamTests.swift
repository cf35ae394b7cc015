import AerosolModels
import Foundation
import Testing
import WireClient

@Suite("Event streams on the wire", .timeLimit(.minutes(1)))
struct EventStreamTests {
    static let timestamp = #"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z"#

    /// Replaces `published_at` values with a fixed string, after checking their format.
    static func normalized(_ text: String) throws -> String {
        let regex = try Regex(#""published_at":""# + timestamp + #"""#)
        return text.replacing(regex, with: #""published_at":"T""#)
    }

    @Test func sandboxStreamBytesMatchTheOriginalPlusIds() async throws {
        try await TestServer.with { server in
            let token = try await server.user("ada@example.com")
            let stream = try await EventStreamReader.open(server, "/v1/devices/events", token: token)
            #expect(stream.head.status.code == 200)
            #expect(stream.head.headers.first(name: "Content-Type") == "text/event-stream")
            #expect(stream.head.headers.first(name: "Cache-Control") == "no-cache")
            #expect(stream.head.headers.first(name: "X-Accel-Buffering") == "no")
            try await stream.read(until: { $0 == ":ok\n\n" })
            try await server.publish("temperature", "25.34", token: token)
            try await server.publish("note", "line1\nline2 \"quoted\"", token: token)
            try await server.publish("empty", nil, token: token)
            _ = try await stream.readEvents(3)
            #expect(
                try Self.normalized(stream.text) == """
                    :ok

                    event: temperature
                    data: {"data":"25.34","ttl":60,"published_at":"T","coreid":"api"}
                    id: 1

                    event: note
                    data: {"data":"line1\\nline2 \\"quoted\\"","ttl":60,"published_at":"T","coreid":"api"}
                    id: 2

                    event: empty
                    data: {"data":null,"ttl":60,"published_at":"T","coreid":"api"}
                    id: 3


                    """
            )
            await stream.close()
        }
    }

    @Test func productStreamAddsProductFields() async throws {
        try await TestServer.with { server in
            let token = try await server.user("ada@example.com")
            _ = try await server.form(.POST, "/v1/products", token: token, [("name", "My Product")])
            let stream = try await EventStreamReader.open(
                server,
                "/v1/products/my-product/events?access_token=\(token)",
                token: nil
            )
            try await stream.read(until: { $0 == ":ok\n\n" })
            try await server.publish("temperature", "25.34", token: token, product: "my-product")
            let frames = try await stream.readEvents(1)
            #expect(
                try Self.normalized(frames[0]) == """
                    event: temperature
                    data: {"data":"25.34","ttl":60,"published_at":"T","coreid":"api","userid":"","version":0,"public":false,"productID":1}
                    id: 1
                    """
            )
            await stream.close()
        }
    }

    @Test func prefixesAreCaseSensitiveByteWiseAndMayContainSlashes() async throws {
        try await TestServer.with { server in
            let token = try await server.user("ada@example.com")
            let paths = [
                "/v1/devices/events/temp?nonce=216.72", "/v1/events/temp/basement", "/v1/events/temp%2Fbasement",
                "/v1/events/temp",
            ]
            var streams: [EventStreamReader] = []
            for path in paths {
                let stream = try await EventStreamReader.open(server, path, token: token)
                try await stream.read(until: { $0.hasPrefix(":ok\n\n") })
                streams.append(stream)
            }
            for name in ["Temp", "high_temp", "temperature", "temp/basement", "tem", "temp/basement/2", "end"] {
                try await server.publish(name, "x", token: token)
            }
            let names = { (stream: EventStreamReader) async throws -> [String] in
                try await stream.read(until: { $0.contains("event: end") || $0.contains("event: temp/basement/2") })
                return EventStreamReader.frames(in: stream.text).map { $0.split(separator: "\n")[0].description }
            }
            #expect(
                try await names(streams[0]) == ["event: temperature", "event: temp/basement", "event: temp/basement/2"]
            )
            #expect(try await names(streams[1]) == ["event: temp/basement", "event: temp/basement/2"])
            #expect(try await names(streams[2]) == ["event: temp/basement", "event: temp/basement/2"])
            #expect(
                try await names(streams[3]) == ["event: temperature", "event: temp/basement", "event: temp/basement/2"]
            )
            for stream in streams { await stream.close() }
        }
    }

    @Test func usersSeeOnlyTheirOwnEvents() async throws {
        try await TestServer.with { server in
            let ada = try await server.user("ada@example.com")
            let bob = try await server.user("bob@example.com")
            let stream = try await EventStreamReader.open(server, "/v1/events/", token: ada)
            try await stream.read(until: { $0 == ":ok\n\n" })
            try await server.publish("secret", "bob's", token: bob)
            try await server.publish("mine", "ada's", token: ada)
            let frames = try await stream.readEvents(1)
            #expect(frames.count == 1)
            #expect(frames[0].hasPrefix("event: mine\n"))
            #expect(!stream.text.contains("bob's"))
            await stream.close()
        }
    }

    @Test func deviceAndProductDeviceStreams() async throws {
        try await TestServer.with { server in
            let ada = try await server.user("ada@example.com")
            let bob = try await server.user("bob@example.com")
            let adaID = try await server.userID(token: ada)
            let device = "0123456789abcdef01234567"
            let other = "0123456789abcdef0123456a"
            _ = try await server.form(.POST, "/v1/devices", token: ada, [("id", device)])
            _ = try await server.form(.PUT, "/v1/devices/\(device)", token: ada, [("name", "weatherman")])
            _ = try await server.form(.POST, "/v1/products", token: ada, [("name", "Fleet")])
            _ = try await server.form(
                .POST,
                "/v1/products/fleet/devices",
                token: ada,
                [("ids[]", device), ("ids[]", other)]
            )

            let byName = try await EventStreamReader.open(server, "/v1/devices/weatherman/events", token: ada)
            let productDevice = try await EventStreamReader.open(
                server,
                "/v1/products/1/devices/\(device)/events/t",
                token: ada
            )
            for stream in [byName, productDevice] { try await stream.read(until: { $0 == ":ok\n\n" }) }
            try await server.publishFromDevice("t1", "from other", device: other, owner: nil, product: 1)
            try await server.publishFromDevice("t2", "from device", device: device, owner: adaID, product: 1)
            let frames = try await byName.readEvents(1)
            #expect(
                try Self.normalized(frames[0]) == """
                    event: t2
                    data: {"data":"from device","ttl":60,"published_at":"T","coreid":"\(device)"}
                    id: 2
                    """
            )
            let productFrames = try await productDevice.readEvents(1)
            #expect(productFrames[0].contains(#""coreid":"\#(device)","userid":"\#(adaID)","version":3"#))

            let denied = try await server.get("/v1/devices/\(device)/events", token: bob)
            #expect(denied.status == 403)
            #expect(try JSONValue(denied)["error"] == .string("Permission Denied"))
            let notMember = try await server.get("/v1/products/fleet/devices/\(device)/events", token: bob)
            #expect(notMember.status == 403)
            let unauthenticated = try await server.get("/v1/devices/events", token: nil)
            #expect(unauthenticated.status == 400)
            #expect(unauthenticated.header("Content-Type") == "application/json")
            for stream in [byName, productDevice] { await stream.close() }
        }
    }

    @Test func keepaliveCommentsFlowDuringSilence() async throws {
        try await TestServer.with(configure: { $0.keepaliveAfter = .seconds(1) }) { server in
            let token = try await server.user("ada@example.com")
            let stream = try await EventStreamReader.open(server, "/v1/devices/events", token: token)
            // When they come is tested on an embedded loop (LoopStreamsTests); here, the bytes.
            try await stream.read(until: { $0.hasSuffix(":keepalive\n:keepalive\n") }, timeout: .seconds(30))
            #expect(stream.text.hasPrefix(":ok\n\n:keepalive\n"))
            await stream.close()
        }
    }

    @Test func aStalledSubscriberDoesNotDelayAnother() async throws {
        try await TestServer.with { server in
            let token = try await server.user("ada@example.com")
            let stalled = try await EventStreamReader.open(server, "/v1/devices/events", token: token)
            let reader = try await EventStreamReader.open(server, "/v1/devices/events", token: token)
            try await reader.read(until: { $0 == ":ok\n\n" })
            let payload = String(repeating: "p", count: 1000)
            for index in 0..<300 {
                try await server.publish("bulk", "\(index)-\(payload)", token: token)
            }
            let frames = try await reader.readEvents(300, timeout: .seconds(20))
            #expect(frames.count == 300)
            #expect(frames.last?.hasSuffix("id: 300") == true)
            await stalled.close()
            await reader.close()
        }
    }

    @Test func streamsEndWhenTheServerShutsDown() async throws {
        try await TestServer.with { server in
            let token = try await server.user("ada@example.com")
            let stream = try await EventStreamReader.open(server, "/v1/devices/events", token: token)
            try await stream.read(until: { $0 == ":ok\n\n" })
            await server.shutdown()
            try await stream.readToEnd(timeout: .seconds(30))
            #expect(stream.text.hasSuffix(":closed shutdown\n"))
        }
    }
}
