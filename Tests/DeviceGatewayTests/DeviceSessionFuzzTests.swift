import AerosolModels
import CoAP
import DeviceGateway
import DeviceProtocol
import Foundation
import Testing

/// Seeded random sequences of valid, mutated and random messages for the session state machine
/// (issue 3, "bad input"): whatever arrives, `DeviceSession.receive` never traps, every reply
/// it asks for can be encoded, nothing is published or taken online before Hello, and once it
/// says close it stays closed and silent.
@Suite struct DeviceSessionFuzzTests {
    static let hello = DeviceSessionTests.hello

    /// Messages a device sends, before mutation.
    static let corpus: [[UInt8]] = {
        func message(_ type: CoAPType, _ code: CoAPCode, _ path: [String], token: [UInt8] = [], payload: String = "")
            -> [UInt8]
        {
            var message = CoAPMessage(
                type: type,
                code: code,
                messageID: 0x2000,
                token: token,
                payload: Array(payload.utf8)
            )
            for segment in path { message.appendPath(segment) }
            return try! message.encoded()
        }
        return [
            hello,
            [0x40, 0x00, 0x12, 0x34],  // ping
            [0x00],  // keep-alive
            message(.nonConfirmable, .post, ["E", "temp"], payload: "21.5"),
            message(.confirmable, .post, ["E", "a", "b"], payload: "x"),
            message(.confirmable, .post, ["e/x/y"]),
            message(.confirmable, .post, ["E", String(repeating: "n", count: 64)], payload: "64"),
            message(.confirmable, .post, ["E", String(repeating: "n", count: 65)], payload: "65"),
            message(.confirmable, .get, ["t"], token: [0x0a]),
            message(.confirmable, .post, ["d"], payload: #"{"f":[],"v":{}}"#),
            message(.confirmable, .get, ["e", "particle"]),
            message(.confirmable, .get, ["v", "temp"], token: [1]),
            message(.acknowledgement, .content, [], token: [1], payload: "ok"),
            message(.reset, .empty, []),
            message(.confirmable, .post, ["x"]),  // Goodbye
        ]
    }()

    static func mutate(_ bytes: inout [UInt8], using generator: inout SplitMix64) {
        let position = bytes.isEmpty ? 0 : Int(generator.next() % UInt64(bytes.count))
        switch generator.next() % 5 {
        case 0 where !bytes.isEmpty:
            bytes[position] ^= 1 << UInt8(generator.next() % 8)
        case 1:
            bytes.removeLast(Int(generator.next() % UInt64(bytes.count + 1)))
        case 2:
            bytes += (0..<(1 + generator.next() % 16)).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
        case 3 where !bytes.isEmpty:
            bytes[position] = [0x00, 0x0D, 0x0E, 0x0F, 0xFF, 0x48, 0x4F, 0xBD, 0xBE][Int(generator.next() % 9)]
        default:
            bytes = (0..<Int(generator.next() % 24)).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
        }
    }

    @Test func randomSessionsKeepTheInvariants() throws {
        var generator = SplitMix64(seed: 0x5E55)
        var settings = GatewaySettings()
        settings.publishBurst = 3
        var closes = 0
        var publishes = 0
        var onlines = 0
        let start = ContinuousClock.now
        for round in 0..<1500 {
            var session = DeviceSession(settings: settings, firstMessageID: UInt16(truncatingIfNeeded: round))
            var closed = false
            var online = false
            for step in 0..<(1 + Int(generator.next() % 30)) {
                var bytes = Self.corpus[Int(generator.next() % UInt64(Self.corpus.count))]
                // Most sessions start with Hello, so that established sessions get fuzzed too.
                if step == 0, generator.next() % 5 != 0 { bytes = Self.hello }
                if generator.next() % 5 == 0 { Self.mutate(&bytes, using: &generator) }
                let now = start + .milliseconds(round * 1000 + step * 50)
                let actions = session.receive(bytes, at: now, date: Date(timeIntervalSince1970: 1_700_000_000))
                if closed {
                    #expect(actions.isEmpty, "a closed session answered \(actions)")
                    continue
                }
                let decoded = try? CoAPMessage(decoding: bytes)
                for (index, action) in actions.enumerated() {
                    switch action {
                    case .send(let reply):
                        // Every reply must be encodable, and an ACK or RST answers the message received.
                        #expect(throws: Never.self) { try reply.encoded() }
                        if reply.type == .acknowledgement || reply.type == .reset {
                            #expect(reply.messageID == decoded?.messageID)
                            #expect(decoded?.type == .confirmable || reply.code == .content, "\(bytes)")
                        }
                    case .goOnline:
                        #expect(!online, "online twice")
                        online = true
                        onlines += 1
                    case .publish(let event, let acknowledgement):
                        #expect(online, "a publish before Hello")
                        #expect(EventName.isValid(event.name, from: .device), "published \(event.name)")
                        #expect((event.data?.utf8.count ?? 0) <= settings.maxEventDataBytes)
                        if let acknowledgement {
                            #expect(acknowledgement.messageID == decoded?.messageID)
                        }
                        publishes += 1
                    case .refusedEvent(let name, _):
                        // Logged as it was refused: never a line break in a log line.
                        #expect(!name.utf8.contains { $0 < 0x20 })
                    case .described, .subscribe:
                        #expect(online, "a Describe or subscription before Hello")
                    case .complete:
                        Issue.record("a request completed that the cloud never sent")
                    case .messageIDGap:
                        Issue.record("message IDs are not tracked without the handshake's counter")
                    case .close:
                        #expect(index == actions.count - 1, "close is the last action")
                        closed = true
                        closes += 1
                    }
                }
                #expect(session.isEstablished == online || closed)
            }
        }
        // The seed must reach every outcome.
        #expect(closes > 100 && publishes > 100 && onlines > 100, "\(closes) \(publishes) \(onlines)")
    }

    /// Hello payloads of every length up to the full 27-byte message, and with device-id
    /// lengths that run past the end: a Hello is accepted or the session closes; never a trap.
    @Test func truncatedAndOverlongHellos() throws {
        let payload = Array(Self.hello[7...])
        for length in 0...payload.count {
            var message = CoAPMessage(
                type: .nonConfirmable,
                code: .post,
                messageID: 1,
                payload: Array(payload[..<length])
            )
            message.appendPath("h")
            var session = DeviceSession(settings: GatewaySettings())
            let actions = session.receive(try message.encoded(), at: .now)
            // Six bytes and more is a Hello (older firmware stops early); less closes.
            if length >= 6 {
                #expect(session.isEstablished, "\(length) bytes")
            } else if case .close = actions.last {
                #expect(!session.isEstablished)
            } else {
                Issue.record("\(length)-byte Hello: \(actions)")
            }
        }
        for idLength in [1, 12, 13, 255, 0xFFFF] {
            var bytes = Array(payload[..<8]) + [UInt8(idLength >> 8), UInt8(idLength & 0xFF)]
            bytes += [UInt8](repeating: 0xAB, count: min(idLength, 12))
            var message = CoAPMessage(type: .confirmable, code: .post, messageID: 2, payload: bytes)
            message.appendPath("h")
            var session = DeviceSession(settings: GatewaySettings())
            let actions = session.receive(try message.encoded(), at: .now)
            #expect(session.isEstablished == (idLength <= 12), "device id length \(idLength): \(actions)")
        }
    }

    /// What the connection does: frames through the channel, then the session. A corrupted
    /// stream ends in a channel error or a session close, or decodes to messages the session
    /// handles; it never traps.
    @Test func corruptedFramesThroughChannelAndSession() throws {
        let keys = try SessionKeys(material: (0..<40).map { UInt8($0 * 7 & 0xFF) })
        var generator = SplitMix64(seed: 0xF7A3)
        var endings: [String: Int] = [:]
        for _ in 0..<400 {
            var device = SecureChannel(keys: keys)
            var stream: [UInt8] = []
            for _ in 0..<(2 + generator.next() % 10) {
                stream += try device.seal(Self.corpus[Int(generator.next() % UInt64(Self.corpus.count))])
            }
            for _ in 0..<(1 + generator.next() % 3) {
                stream[Int(generator.next() % UInt64(stream.count))] ^= 1 << UInt8(generator.next() % 8)
            }
            var channel = SecureChannel(keys: keys, maximumFrameLength: GatewaySettings().maxFrameBytes)
            var session = DeviceSession(settings: GatewaySettings())
            var ending = "open"
            do {
                for message in try channel.receive(stream) {
                    if case .close = session.receive(message, at: .now).last {
                        ending = "session closed"
                        break
                    }
                }
            } catch {
                ending = "channel: \(error)"
            }
            endings[ending, default: 0] += 1
        }
        #expect(endings.count >= 3, "\(endings)")
    }
}
