import AerosolTesting
import CoAP
import DeviceGateway
import DeviceProtocol
import Testing

@Suite("DeviceSession: the cloud's requests, Describe and subscriptions")
struct DeviceSessionRequestTests {
    static func bytes(_ message: CoAPMessage) throws -> [UInt8] { try message.encoded() }

    /// The request and the token the session chose.
    static func start(_ request: DeviceRequest, on session: inout DeviceSession) throws -> (UInt8, CoAPMessage) {
        guard let started = session.start(request) else { throw TestFailure("the session refused \(request)") }
        return (started.token, started.message)
    }

    @Test func requestsMatchTheSpecVectorsByteForByte() throws {
        // Describe, variable, function and signal with the protocol's message IDs and tokens.
        #expect(
            try Self.bytes(DeviceRequest.describe(flags: 0x02).message(messageID: 0x1002, token: 0x07))
                == [0x41, 0x01, 0x10, 0x02, 0x07, 0xb1, 0x64, 0x41, 0x02]
        )
        #expect(
            try Self.bytes(DeviceRequest.variable("temp").message(messageID: 0x1003, token: 0x08))
                == [0x41, 0x01, 0x10, 0x03, 0x08, 0xb1, 0x76, 0x04, 0x74, 0x65, 0x6d, 0x70]
        )
        #expect(
            try Self.bytes(DeviceRequest.function("led", argument: "on").message(messageID: 0x1004, token: 0x09))
                == [0x41, 0x02, 0x10, 0x04, 0x09, 0xb1, 0x66, 0x03, 0x6c, 0x65, 0x64, 0x42, 0x6f, 0x6e]
        )
        let signal = try Self.bytes(DeviceRequest.signal(true).message(messageID: 0x1005, token: 0x0a))
        #expect(signal == [0x41, 0x03, 0x10, 0x05, 0x0a, 0xb1, 0x73, 0x41, 0x01])
        // Device OS reads the flag at offset 8.
        #expect(DeviceMessageKind(classifying: signal) == .signalStart)
        let stop = try Self.bytes(DeviceRequest.signal(false).message(messageID: 0x1006, token: 0x0b))
        #expect(DeviceMessageKind(classifying: stop) == .signalStop)
        // A variable name of 13 bytes needs the 13-extension of the option length.
        let long = try Self.bytes(DeviceRequest.variable("temperature_1").message(messageID: 1, token: 1))
        #expect(Array(long[6...8]) == [0x76, 0x0d, 0x00])
    }

    @Test func aVariableAnsweredSeparatelyCompletesByToken() throws {
        var session = DeviceSessionTests.established()
        let (token, request) = try Self.start(.variable("temp"), on: &session)
        #expect(session.requestsInFlight == 1)
        // The empty ACK: nothing to report yet.
        let ack = CoAPMessage(type: .acknowledgement, code: .empty, messageID: request.messageID)
        #expect(session.receive(try ack.encoded(), at: .now).isEmpty)
        // Then NON 2.05 with the token and the double 21.5 little-endian.
        let value: [UInt8] = [0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x35, 0x40]
        let answer = CoAPMessage(
            type: .nonConfirmable,
            code: .content,
            messageID: 0x9360,
            token: [token],
            payload: value
        )
        #expect(session.receive(try answer.encoded(), at: .now) == [.complete(token: token, .success(payload: value))])
        #expect(session.requestsInFlight == 0)
        // A late duplicate is ignored.
        #expect(session.receive(try answer.encoded(), at: .now).isEmpty)
    }

    @Test func piggybackedAndConfirmableAnswersAndErrors() throws {
        var session = DeviceSessionTests.established()
        // Older firmware piggybacks the value on the ACK.
        let (first, read) = try Self.start(.variable("counter"), on: &session)
        let piggybacked = read.acknowledgement(code: .content, payload: [0, 0, 0, 42])
        #expect(
            session.receive(try piggybacked.encoded(), at: .now) == [
                .complete(token: first, .success(payload: [0, 0, 0, 42]))
            ]
        )
        // An unknown function: ACK 4.04.
        let (second, call) = try Self.start(.function("nope", argument: ""), on: &session)
        #expect(
            session.receive(try call.acknowledgement(code: .notFound).encoded(), at: .now) == [
                .complete(token: second, .failure(.notFound))
            ]
        )
        // A CON answer is ACKed by the server.
        let (third, _) = try Self.start(.function("led", argument: "on"), on: &session)
        let answer = CoAPMessage(
            type: .confirmable,
            code: .changed,
            messageID: 0x7777,
            token: [third],
            payload: [0, 0, 0, 1]
        )
        #expect(
            session.receive(try answer.encoded(), at: .now) == [
                .send(CoAPMessage(type: .acknowledgement, code: .empty, messageID: 0x7777)),
                .complete(token: third, .success(payload: [0, 0, 0, 1])),
            ]
        )
        // An RST ends a request too.
        let (fourth, reset) = try Self.start(.variable("x"), on: &session)
        #expect(
            session.receive(try reset.reset.encoded(), at: .now) == [.complete(token: fourth, .reset)]
        )
    }

    @Test func aPingHasNoTokenAndCompletesOnItsAcknowledgementOrReset() throws {
        var session = DeviceSessionTests.established()
        let (token, ping) = try Self.start(.ping, on: &session)
        #expect(try ping.encoded() == [0x40, 0x00, UInt8(ping.messageID >> 8), UInt8(ping.messageID & 0xFF)])
        #expect(
            session.receive(try ping.emptyAcknowledgement.encoded(), at: .now) == [
                .complete(token: token, .success(payload: []))
            ]
        )
        let (second, again) = try Self.start(.ping, on: &session)
        #expect(session.receive(try again.reset.encoded(), at: .now) == [.complete(token: second, .reset)])
    }

    @Test func aSignalCompletesOnItsAcknowledgement() throws {
        var session = DeviceSessionTests.established()
        let (token, request) = try Self.start(.signal(true), on: &session)
        #expect(
            session.receive(try request.emptyAcknowledgement.encoded(), at: .now) == [
                .complete(token: token, .success(payload: []))
            ]
        )
    }

    @Test func manyRequestsInFlightGetDistinctTokensUpToTheLimit() throws {
        var session = DeviceSessionTests.established()
        var tokens = Set<UInt8>()
        for index in 0..<255 {
            let (token, _) = try Self.start(.variable("v\(index)"), on: &session)
            tokens.insert(token)
        }
        #expect(tokens.count == 255)
        #expect(session.start(.variable("one-too-many")) == nil)
        // Abandoning one (a timeout) frees its token.
        session.abandon(tokens.first!)
        #expect(session.start(.variable("again")) != nil)
    }

    @Test func requestsBeforeHelloAreRefused() {
        var session = DeviceSession(settings: GatewaySettings())
        #expect(session.start(.variable("temp")) == nil)
    }

    @Test func aLargeDescribeIsFetchedBlockByBlock() throws {
        var session = DeviceSessionTests.established()
        let (token, first) = try Self.start(.describe(flags: 0x02), on: &session)
        let document = Array(#"{"f":["led"],"v":{"temp":9}}"#.utf8)
        // Block 0 of 16-byte blocks (SZX 0), more to come: M set.
        var block0 = CoAPMessage(
            type: .acknowledgement,
            code: .content,
            messageID: first.messageID,
            token: [token],
            payload: Array(document[0..<16])
        )
        block0.options.append(CoAPOption(.block2, uint: 0 << 4 | 0x08 | 0))
        let next = session.receive(try block0.encoded(), at: .now)
        guard case .send(let second)? = next.first, next.count == 1 else {
            Issue.record("expected the request for block 1, got \(next)")
            return
        }
        #expect(second.token == [token])
        #expect(second.firstOptionValue(.block2) == [0x10])
        #expect(second.uriQuery == [[0x02]])
        var block1 = CoAPMessage(
            type: .acknowledgement,
            code: .content,
            messageID: second.messageID,
            token: [token],
            payload: Array(document[16...])
        )
        block1.options.append(CoAPOption(.block2, uint: 1 << 4 | 0))
        let done = session.receive(try block1.encoded(), at: .now)
        let describe = try Describe(json: document)
        #expect(
            done == [
                .described(describe, document: document),
                .complete(token: token, .success(payload: document)),
            ]
        )
    }

    @Test func firmwareBefore2AskedForItsDescribeAfterHello() throws {
        // A Photon-era Hello: 8 bytes, no device-initiated Describe flag.
        var hello = CoAPMessage(
            type: .nonConfirmable,
            code: .post,
            messageID: 1,
            payload: [0x00, 0x06, 0xff, 0xff, 0x00, 0x00, 0x00, 0x06]
        )
        hello.appendPath("h")
        var session = DeviceSession(settings: GatewaySettings(), firstMessageID: 0x2000)
        let actions = session.receive(try hello.encoded(), at: .now)
        #expect(actions.count == 3)
        guard case .send(let request)? = actions.last else {
            Issue.record("no Describe request: \(actions)")
            return
        }
        #expect(request.path == "d")
        #expect(request.uriQuery == [[0x03]])
        // Its combined answer is recorded; the caller never hears of this request.
        let combined = Array(#"{"f":[],"v":{"a":2},"p":6,"m":[]}"#.utf8)
        let answer = request.acknowledgement(code: .content, payload: combined)
        #expect(
            session.receive(try answer.encoded(), at: .now) == [
                .described(try Describe(json: combined), document: combined)
            ]
        )
    }

    @Test func describePushesAndSubscriptionsAreAcknowledgedAndReported() throws {
        var session = DeviceSessionTests.established()
        let json = Array(#"{"f":["led"],"v":{"counter":2}}"#.utf8)
        var push = CoAPMessage(type: .confirmable, code: .post, messageID: 0x55, payload: json)
        push.appendPath("d")
        push.appendQuery([0x02])
        #expect(
            session.receive(try push.encoded(), at: .now) == [
                .send(CoAPMessage(type: .acknowledgement, code: .empty, messageID: 0x55)),
                .described(try Describe(json: json), document: json),
            ]
        )
        // The spec's subscribe vector for `srv/` and a `u` subscription.
        let subscribe: [UInt8] = [0x40, 0x01, 0x93, 0x53, 0xb1, 0x65, 0x04, 0x73, 0x72, 0x76, 0x2f]
        #expect(
            session.receive(subscribe, at: .now) == [
                .send(CoAPMessage(type: .acknowledgement, code: .empty, messageID: 0x9353)),
                .subscribe(DeviceSubscription(prefix: "srv/", ownDevicesOnly: false)),
            ]
        )
        var mine = CoAPMessage(type: .confirmable, code: .get, messageID: 0x56)
        mine.appendPath("e", "particle")
        mine.appendQuery([UInt8(ascii: "u")])
        let actions = session.receive(try mine.encoded(), at: .now)
        #expect(actions.last == .subscribe(DeviceSubscription(prefix: "particle", ownDevicesOnly: true)))
        #expect(session.subscriptions.map(\.prefix) == ["srv/", "particle"])
        // An invalid Describe is refused without closing.
        var bad = CoAPMessage(type: .confirmable, code: .post, messageID: 0x57, payload: Array("nope".utf8))
        bad.appendPath("d")
        #expect(
            session.receive(try bad.encoded(), at: .now) == [
                .send(CoAPMessage(type: .acknowledgement, code: .badRequest, messageID: 0x57))
            ]
        )
        #expect(session.isEstablished)
    }

    @Test func eventDeliveriesAreNonConfirmablePostsToE() throws {
        var session = DeviceSessionTests.established()
        guard let message = session.delivery(of: "srv/ping", data: "1") else { throw TestFailure("no delivery") }
        let bytes = try message.encoded()
        // `50 02 mid b1 65 <name> ff <data>`.
        #expect(Array(bytes[0...1]) == [0x50, 0x02])
        #expect(Array(bytes[4...5]) == [0xb1, 0x65])
        #expect(message.uriPath == ["e", "srv/ping"])
        #expect(message.payload == [0x31])
        #expect(DeviceMessageKind(classifying: bytes) == .event)
    }

    @Test func anUnansweredServerPingClosesTheSession() throws {
        var session = DeviceSessionTests.established()
        guard case .send(let ping) = session.ping() else {
            Issue.record("no ping")
            return
        }
        #expect(try ping.encoded().prefix(2) == [0x40, 0x00])
        #expect(session.receive(try ping.emptyAcknowledgement.encoded(), at: .now).isEmpty)
        // Answered: the next ping goes out; unanswered, the one after closes.
        guard case .send = session.ping() else {
            Issue.record("no second ping")
            return
        }
        guard case .close = session.ping() else {
            Issue.record("an unanswered ping did not close")
            return
        }
        #expect(!session.isEstablished)
    }

    @Test func messageIDGapsAreReportedNotFatal() throws {
        // The observed Hello has message ID 0xF605: the handshake's counter stands just before it.
        var session = DeviceSession(
            settings: GatewaySettings(),
            firstMessageID: 0x1000,
            deviceMessageIDs: MessageIDCounter(current: 0xF604)
        )
        let hello = session.receive(DeviceSessionTests.hello, at: .now)
        #expect(!hello.contains { if case .messageIDGap = $0 { true } else { false } })
        var ping = CoAPMessage(type: .confirmable, code: .empty, messageID: 0xF606)
        #expect(session.receive(try ping.encoded(), at: .now) == [.send(ping.emptyAcknowledgement)])
        ping.messageID = 0xF610
        #expect(
            session.receive(try ping.encoded(), at: .now) == [
                .messageIDGap(expected: 0xF607, received: 0xF610), .send(ping.emptyAcknowledgement),
            ]
        )
        #expect(session.isEstablished)
        // ACKs answer our IDs and do not count.
        #expect(
            session.receive(try CoAPMessage(type: .acknowledgement, code: .empty, messageID: 1).encoded(), at: .now)
                .isEmpty
        )
        ping.messageID = 0xF611
        #expect(session.receive(try ping.encoded(), at: .now) == [.send(ping.emptyAcknowledgement)])
    }
}
