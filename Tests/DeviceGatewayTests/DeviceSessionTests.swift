import CoAP
import DeviceGateway
import DeviceProtocol
import Testing

@Suite("DeviceSession state machine")
struct DeviceSessionTests {
    static let hello: [UInt8] = [
        0x50, 0x02, 0xf6, 0x05, 0xb1, 0x68, 0xff, 0x00, 0x03, 0xff, 0xff, 0x00, 0x36, 0x00, 0x03, 0x00, 0x00, 0x13,
        0x8a, 0x03, 0xc0, 0x00, 0xa0, 0x00, 0x00, 0x02, 0x00,
    ]

    static func established(_ settings: GatewaySettings = GatewaySettings()) -> DeviceSession {
        var session = DeviceSession(settings: settings, firstMessageID: 0x1000)
        _ = session.receive(hello, at: .now)
        return session
    }

    @Test func helloIsAnsweredWithTheServerHelloThenGoesOnline() throws {
        var session = DeviceSession(settings: GatewaySettings(), firstMessageID: 0x1000)
        let actions = session.receive(Self.hello, at: .now)
        #expect(actions.count == 2)
        guard case .send(let reply) = actions[0] else { Issue.record("no reply"); return }
        #expect(try reply.encoded() == [0x50, 0x02, 0x10, 0x01, 0xb1, 0x68])
        guard case .goOnline(let hello) = actions[1] else { Issue.record("not online"); return }
        #expect(hello.platformID == 3)
        #expect(hello.systemVersion == 5002)
        #expect(session.isEstablished)
    }

    @Test func pingIsAcknowledgedAndTheKeepAliveIgnored() {
        var session = Self.established()
        #expect(
            session.receive([0x40, 0x00, 0x12, 0x34], at: .now) == [
                .send(CoAPMessage(type: .acknowledgement, code: .empty, messageID: 0x1234))
            ]
        )
        #expect(session.receive([0x00], at: .now).isEmpty)
    }

    @Test func eventsBeforeHelloCloseTheConnection() {
        var session = DeviceSession(settings: GatewaySettings())
        let actions = session.receive([0x50, 0x02, 0x93, 0x52, 0xb1, 0x45, 0x04, 0x74, 0x65, 0x6d, 0x70], at: .now)
        guard case .close = actions.first else {
            Issue.record("expected close, got \(actions)")
            return
        }
    }

    @Test func eventNamesAreJoinedFromEveryPathOption() throws {
        var session = Self.established()
        // The spec's example: NON publish temp = 21.5.
        let observed: [UInt8] = [
            0x50, 0x02, 0x93, 0x52, 0xb1, 0x45, 0x04, 0x74, 0x65, 0x6d, 0x70, 0xff, 0x32, 0x31, 0x2e, 0x35,
        ]
        #expect(
            session.receive(observed, at: .now) == [
                .publish(DevicePublish(name: "temp", data: "21.5", ttl: 60), acknowledgement: nil)
            ]
        )
        var split = CoAPMessage(type: .confirmable, code: .post, messageID: 7)
        split.appendPath("E", "a", "b")
        split.options.append(CoAPOption(.maxAge, uint: 30))
        #expect(
            session.receive(try split.encoded(), at: .now) == [
                .publish(
                    DevicePublish(name: "a/b", data: nil, ttl: 30),
                    acknowledgement: CoAPMessage(type: .acknowledgement, code: .empty, messageID: 7)
                )
            ]
        )
        var combined = CoAPMessage(type: .nonConfirmable, code: .post, messageID: 8, payload: [0x31])
        combined.appendPath("e/x/y")
        #expect(
            session.receive(try combined.encoded(), at: .now) == [
                .publish(DevicePublish(name: "x/y", data: "1", ttl: 60), acknowledgement: nil)
            ]
        )
    }

    @Test func theRateLimitAnswersSlowDown() throws {
        var settings = GatewaySettings()
        settings.publishRate = 1
        settings.publishBurst = 2
        var session = Self.established(settings)
        let start = ContinuousClock.now
        func publish(_ id: UInt16, at instant: ContinuousClock.Instant) throws -> [DeviceSession.Action] {
            var message = CoAPMessage(type: .confirmable, code: .post, messageID: id)
            message.appendPath("E", "n")
            return session.receive(try message.encoded(), at: instant)
        }
        #expect(try publish(1, at: start).count == 1)
        #expect(try publish(2, at: start).count == 1)
        #expect(
            try publish(3, at: start) == [
                .send(CoAPMessage(type: .acknowledgement, code: .badRequest, messageID: 3))
            ]
        )
        #expect(session.throttledCount == 1)
        // A second later one token is back.
        guard case .publish = try publish(4, at: start + .seconds(1)).first else {
            Issue.record("expected a publish after the refill")
            return
        }
    }

    @Test func timeRequestsGetThePiggybackedTime() throws {
        var session = Self.established()
        var request = CoAPMessage(type: .confirmable, code: .get, messageID: 0x9354, token: [0x0a])
        request.appendPath("t")
        let actions = session.receive(
            try request.encoded(),
            at: .now,
            date: .init(timeIntervalSince1970: 1_700_000_000)
        )
        guard case .send(let reply) = actions.first else {
            Issue.record("no reply")
            return
        }
        #expect(try reply.encoded() == [0x61, 0x45, 0x93, 0x54, 0x0a, 0xff, 0x65, 0x53, 0xf1, 0x00])
    }

    @Test func malformedMessagesClose() {
        var session = Self.established()
        guard case .close = session.receive([0x40, 0x02, 0x00, 0x01, 0xf1], at: .now).first else {
            Issue.record("expected close")
            return
        }
    }
}
