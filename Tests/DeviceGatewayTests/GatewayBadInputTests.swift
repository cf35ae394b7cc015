import AerosolServer
import AerosolTesting
import CoAP
import DeviceGateway
import DeviceProtocol
import Foundation
import NIOCore
import Testing

/// Bad input against a live gateway (issue 3): each misbehaving connection is closed, and a
/// well-behaved simulated device connected to the same server is served before, during and
/// after it.
@Suite("Device gateway, bad input over TCP", .timeLimit(.minutes(1)))
struct GatewayBadInputTests {
    /// What an attack gets: the server, a token, the well-behaved device and the account's
    /// event stream.
    struct Scene {
        let server: TestServer
        let token: String
        let good: SimulatedDevice
        let stream: EventStreamReader

        /// A provisioned and claimed device identity for the misbehaving connection.
        func identity() async throws -> TestDeviceIdentity {
            let device = try TestDeviceIdentity()
            try await GatewayLiveTests.provision(device, on: server, token: token)
            return device
        }

        /// The device side of the handshake for `device`, for a raw client.
        func handshake(_ device: TestDeviceIdentity) throws -> DeviceHandshake {
            try DeviceHandshake(
                deviceID: device.id,
                privateKey: Data(device.privateKeyPEM.utf8),
                serverPublicKeyDER: try ServerKeyFile.load(at: server.dataDirectory + "/server-key.pem").publicKeyDER
            )
        }

        /// A raw client through the handshake and Hello of `device`.
        func connectedRaw(_ device: TestDeviceIdentity) async throws -> RawDeviceClient {
            let raw = try await RawDeviceClient.connect(port: server.devicePort)
            try await raw.handshake(try handshake(device))
            try await raw.send(DeviceSimulator.defaultHello.message(messageID: raw.nextMessageID()))
            _ = try await raw.receive { $0.type == .nonConfirmable && $0.path == "h" }
            return raw
        }

        /// The well-behaved device publishes `name` and the event reaches the stream.
        func goodDeviceIsServed(_ name: String) async throws {
            #expect(try await good.publish(name, data: "ok") == .empty)
            try await good.ping()
            try await stream.read(until: { $0.contains("event: \(name)\n") })
        }
    }

    /// Runs `attack` against a server with a well-behaved device connected, then checks that
    /// the device is still served.
    static func withGoodDevice(
        helloTimeout: Duration = .seconds(5),
        _ attack: @Sendable (Scene) async throws -> Void
    ) async throws {
        try await TestServer.with(configure: { $0.gateway.helloTimeout = helloTimeout }) { server in
            let token = try await server.user("ada@example.com")
            let good = try TestDeviceIdentity()
            try await GatewayLiveTests.provision(good, on: server, token: token)
            let stream = try await EventStreamReader.open(server, "/v1/devices/events", token: token)
            try await stream.read(until: { $0.hasPrefix(":ok") })
            try await good.simulator(dataDirectory: server.dataDirectory).run(
                host: "127.0.0.1",
                port: server.devicePort,
                timeout: .seconds(20)
            ) { device in
                try await stream.read(until: { $0.contains(#"{"data":"online""#) })
                let scene = Scene(server: server, token: token, good: device, stream: stream)
                try await scene.goodDeviceIsServed("before")
                try await attack(scene)
                try await scene.goodDeviceIsServed("after")
            }
            await stream.close()
        }
    }

    /// Whether `text` holds a `spark/status` event `status` of `device`.
    static func status(_ text: String, _ status: String, of device: TestDeviceIdentity) -> Bool {
        EventStreamReader.frames(in: text).contains {
            $0.contains("event: spark/status\n") && $0.contains(#"{"data":"\#(status)""#) && $0.contains(device.hex)
        }
    }

    /// A device could write its own SSE lines into everyone's stream through its event name
    /// (a forged `id:` that makes clients skip events on resume, a `retry:` of a day, a whole
    /// event with another device's `coreid`), and fake the cloud's `spark/status`.
    @Test func eventNamesThatCouldForgeFramesOrCloudEventsAreRefused() async throws {
        try await Self.withGoodDevice { scene in
            let forged = "x\n\nid: 999999\nretry: 86400000\nevent: forged\ndata: {\"coreid\":\"0\"}"
            #expect(try await scene.good.publish(forged, data: "1") == .badRequest)
            #expect(try await scene.good.publish("tab\there", data: "1") == .badRequest)
            #expect(try await scene.good.publish("spark/status", data: "offline") == .badRequest)
            #expect(try await scene.good.publish("spark/flash/status", data: "success") == .badRequest)
            #expect(try await scene.good.publish("Particle/anything", data: "1") == .badRequest)
            // Device OS's own system events still pass.
            #expect(try await scene.good.publish("spark/device/last_reset", data: "pin_reset") == .empty)
            #expect(try await scene.good.publish("after-the-forgeries", data: "ok") == .empty)
            let text = try await scene.stream.read(until: { $0.contains("event: after-the-forgeries\n") })
            #expect(!text.contains("forged"))
            #expect(!text.contains("999999"))
            #expect(!text.contains("retry:"))
            #expect(!text.contains("offline"))
            #expect(text.contains("event: spark/device/last_reset\n"))
        }
    }

    @Test func garbageBeforeTheHandshakeIsClosed() async throws {
        try await Self.withGoodDevice { scene in
            // An HTTP request where the RSA block belongs, after reading the nonce.
            let http = try await RawDeviceClient.connect(port: scene.server.devicePort)
            #expect(try await http.read(ServerHandshake.nonceSize).count == 40)
            await http.write(
                Array("GET / HTTP/1.1\r\nHost: aerosol\r\n\r\n".utf8) + [UInt8](repeating: 0x20, count: 240)
            )
            #expect(await http.closedByServer())
            // Garbage at once, without reading the nonce, more than a block of it.
            var generator = SystemRandomNumberGenerator()
            let blind = try await RawDeviceClient.connect(port: scene.server.devicePort)
            await blind.write((0..<4096).map { _ in UInt8.random(in: 0...255, using: &generator) })
            #expect(await blind.closedByServer())
            try await scene.goodDeviceIsServed("during")
        }
    }

    @Test func wrongAndTruncatedRSABlocksAreClosed() async throws {
        try await Self.withGoodDevice(helloTimeout: .seconds(4)) { scene in
            let device = try await scene.identity()
            let handshake = try scene.handshake(device)
            // A valid block with one bit flipped: closed at once (long before the Hello timeout).
            // `silent`, opened first, says nothing: its Hello timeout ends it no sooner than the
            // flipped one's would, so while it is open, what closed the other was the handshake.
            let silent = try await RawDeviceClient.connect(port: scene.server.devicePort)
            let flipped = try await RawDeviceClient.connect(port: scene.server.devicePort)
            var block = try handshake.answer(nonce: try await flipped.read(ServerHandshake.nonceSize))
            block[100] ^= 0x04
            await flipped.write(block)
            #expect(await flipped.closedByServer())
            #expect(
                await !silent.closedByServer(within: .milliseconds(100)),
                "closed by the handshake, not the Hello timeout"
            )
            // A block answering another nonce.
            let replayed = try await RawDeviceClient.connect(port: scene.server.devicePort)
            _ = try await replayed.read(ServerHandshake.nonceSize)
            await replayed.write(try handshake.answer(nonce: [UInt8](repeating: 0, count: 40)))
            #expect(await replayed.closedByServer())
            // A truncated block, then silence, and a connection that sends nothing at all: the
            // Hello timeout ends both.
            let truncated = try await RawDeviceClient.connect(port: scene.server.devicePort)
            let nonce = try await truncated.read(ServerHandshake.nonceSize)
            await truncated.write(Array(try handshake.answer(nonce: nonce).prefix(200)))
            #expect(await truncated.closedByServer(within: .seconds(15)))
            #expect(await silent.closedByServer(within: .seconds(15)))
            // Any status of the refused device would have been logged before this event.
            try await scene.goodDeviceIsServed("checkpoint")
            #expect(!scene.stream.text.contains(device.hex), "the refused device never went online")
        }
    }

    @Test func badFramesAfterTheHandshakeAreClosed() async throws {
        try await Self.withGoodDevice { scene in
            let device = try await scene.identity()
            // A frame that does not decrypt (its padding block corrupted), after Hello: the device
            // went online, and goes offline when the server closes the connection.
            let corrupt = try await scene.connectedRaw(device)
            try await scene.stream.read(until: { Self.status($0, "online", of: device) })
            var frame = try corrupt.frame(
                CoAPMessage(type: .confirmable, code: .empty, messageID: corrupt.nextMessageID())
            )
            frame[frame.count - 1] ^= 0x01
            await corrupt.write(frame)
            #expect(await corrupt.closedByServer())
            try await scene.stream.read(until: { Self.status($0, "offline", of: device) })
            // A frame sealed under another session's key.
            let foreign = try await scene.connectedRaw(device)
            var other = SecureChannel(keys: try SessionKeys(material: [UInt8](repeating: 9, count: 40)))
            await foreign.write(try other.seal([0x40, 0x00, 0x00, 0x01]))
            #expect(await foreign.closedByServer())
            // A well-formed frame holding bytes that are not CoAP.
            let notCoAP = try await scene.connectedRaw(device)
            var sealing = try #require(notCoAP.secure)
            await notCoAP.write(try sealing.seal([0x40, 0x02, 0x00, 0x01, 0xF1]))
            #expect(await notCoAP.closedByServer())
        }
    }

    @Test func wrongFrameLengthsAreClosed() async throws {
        try await Self.withGoodDevice { scene in
            let device = try await scene.identity()
            // Not a multiple of the AES block.
            let unaligned = try await scene.connectedRaw(device)
            await unaligned.write([0x00, 0x07] + [UInt8](repeating: 0x11, count: 7))
            #expect(await unaligned.closedByServer())
            // Zero.
            let empty = try await scene.connectedRaw(device)
            await empty.write([0x00, 0x00])
            #expect(await empty.closedByServer())
            // Longer than the gateway accepts: closed on the prefix, without waiting for 65520 bytes.
            let long = try await scene.connectedRaw(device)
            await long.write([0xFF, 0xF0] + [UInt8](repeating: 0x22, count: 64))
            #expect(await long.closedByServer())
        }
    }

    @Test func aDeviceThatNeverSaysHelloIsClosed() async throws {
        try await Self.withGoodDevice(helloTimeout: .seconds(4)) { scene in
            let device = try await scene.identity()
            let raw = try await RawDeviceClient.connect(port: scene.server.devicePort)
            try await raw.handshake(try scene.handshake(device))
            // Pings are answered before Hello, but they do not stop the Hello timeout.
            try await raw.send(CoAPMessage(type: .confirmable, code: .empty, messageID: raw.nextMessageID()))
            _ = try await raw.receive { $0.type == .acknowledgement }
            let start = ContinuousClock.now
            var closed = false
            while !closed, start.duration(to: .now) < .seconds(20) {
                try? await raw.send(CoAPMessage(type: .confirmable, code: .empty, messageID: raw.nextMessageID()))
                closed = await raw.closedByServer(within: .milliseconds(500))
            }
            #expect(closed)
            try await scene.goodDeviceIsServed("checkpoint")
            #expect(!scene.stream.text.contains(device.hex), "a device without Hello never goes online")
        }
    }

    @Test func aFloodOfFramesIsAnsweredOrRefusedAndTheOthersAreStillServed() async throws {
        try await Self.withGoodDevice { scene in
            let device = try await scene.identity()
            let flood = try await scene.connectedRaw(device)
            // 4,000 pings and 1,000 publishes (half CON) in one write, without reading.
            var bytes: [UInt8] = []
            var confirmable = 0
            for index in 0..<5000 {
                var message = CoAPMessage(type: .confirmable, code: .empty, messageID: flood.nextMessageID())
                if index % 5 == 0 {
                    message.code = .post
                    message.type = index % 10 == 0 ? .confirmable : .nonConfirmable
                    message.payload = Array("\(index)".utf8)
                    message.appendPath("E", "flood")
                }
                if message.type == .confirmable { confirmable += 1 }
                bytes += try flood.frame(message)
            }
            await flood.write(bytes)
            // Meanwhile the well-behaved device is served.
            try await scene.goodDeviceIsServed("during-flood")
            // Every CON gets its ACK: a plain one, or 4.00 for publishes over the rate limit.
            var acknowledged = 0
            var slowDowns = 0
            while acknowledged < confirmable {
                let ack = try await flood.receive(timeout: .seconds(30)) { $0.type == .acknowledgement }
                acknowledged += 1
                if ack.code == .badRequest { slowDowns += 1 }
            }
            #expect(slowDowns >= 490, "\(slowDowns) publishes refused")
            // At most the burst (4) and a refill or two of the 1,000 publishes were logged.
            try await scene.goodDeviceIsServed("after-flood")
            let logged = scene.stream.text.components(separatedBy: "event: flood\n").count - 1
            #expect((1...7).contains(logged), "\(logged) flood events logged")
            // Then a bad frame ends it.
            await flood.write([0x00, 0x03, 1, 2, 3])
            #expect(await flood.closedByServer())
        }
    }
}
