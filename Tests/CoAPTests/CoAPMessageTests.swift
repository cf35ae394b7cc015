import CoAP
import Testing

@Suite struct CoAPMessageTests {
    @Test func pingAndItsAcknowledgement() throws {
        let ping = try CoAPMessage(decoding: hex("40 00 12 34"))
        #expect(ping.type == .confirmable)
        #expect(ping.code == .empty)
        #expect(ping.messageID == 0x1234)
        #expect(try ping.emptyAcknowledgement.encoded() == hex("60 00 12 34"))
    }

    @Test func headerBytesOfTheSpecTable() throws {
        let cases: [(CoAPType, Int, UInt8)] = [
            (.confirmable, 0, 0x40), (.confirmable, 1, 0x41), (.nonConfirmable, 0, 0x50),
            (.nonConfirmable, 1, 0x51), (.acknowledgement, 0, 0x60), (.acknowledgement, 1, 0x61),
            (.reset, 0, 0x70),
        ]
        for (type, tokenLength, byte) in cases {
            let message = CoAPMessage(
                type: type,
                code: .get,
                messageID: 1,
                token: Array(repeating: 7, count: tokenLength)
            )
            #expect(try message.encoded()[0] == byte)
        }
        #expect(CoAPCode.content.rawValue == 0x45)
        #expect(CoAPCode.changed.description == "2.04")
        #expect(CoAPCode(class: 5, detail: 0) == .internalServerError)
        #expect(CoAPCode.badRequest.rawValue == 0x80)
        #expect(CoAPCode.notFound.rawValue == 0x84)
    }

    @Test func describeRequestVector() throws {
        var message = CoAPMessage(type: .confirmable, code: .get, messageID: 0x1002, token: [0x07])
        message.appendPath("d")
        message.appendQuery([0x02])
        #expect(try message.encoded() == hex("41 01 10 02 07 b1 64 41 02"))
    }

    @Test func variableRequestVector() throws {
        var message = CoAPMessage(type: .confirmable, code: .get, messageID: 0x1003, token: [0x08])
        message.appendPath("v", "temp")
        let bytes = try message.encoded()
        #expect(bytes == hex("41 01 10 03 08 b1 76 04 74 65 6d 70"))
        let decoded = try CoAPMessage(decoding: bytes)
        #expect(decoded.uriPath == ["v", "temp"])
        #expect(decoded.path == "v/temp")
        #expect(decoded.token == [0x08])
    }

    @Test func functionCallVector() throws {
        var message = CoAPMessage(type: .confirmable, code: .post, messageID: 0x1004, token: [0x09])
        message.appendPath("f", "led")
        message.appendQuery(Array("on".utf8))
        #expect(try message.encoded() == hex("41 02 10 04 09 b1 66 03 6c 65 64 42 6f 6e"))

        let ack = try CoAPMessage(decoding: hex("60 00 10 04"))
        #expect(ack.type == .acknowledgement && ack.messageID == 0x1004)
        let result = try CoAPMessage(decoding: hex("51 44 93 60 09 ff 00 00 00 72"))
        #expect(result.type == .nonConfirmable)
        #expect(result.code == .changed)
        #expect(result.token == [0x09])
        #expect(result.payload == [0, 0, 0, 0x72])
    }

    @Test func eventPublishVector() throws {
        let bytes = hex("50 02 93 52 b1 45 04 74 65 6d 70 ff 32 31 2e 35")
        let message = try CoAPMessage(decoding: bytes)
        #expect(message.type == .nonConfirmable)
        #expect(message.code == .post)
        #expect(message.messageID == 0x9352)
        #expect(message.uriPath == ["E", "temp"])
        #expect(message.payload == Array("21.5".utf8))
        #expect(try message.encoded() == bytes)
    }

    @Test func subscribeAndTimeVectors() throws {
        let subscribe = try CoAPMessage(decoding: hex("40 01 93 53 b1 65 04 73 72 76 2f"))
        #expect(subscribe.path == "e/srv/")
        #expect(try subscribe.emptyAcknowledgement.encoded() == hex("60 00 93 53"))

        let time = try CoAPMessage(decoding: hex("41 01 93 54 0a b1 74"))
        #expect(time.path == "t")
        let reply = time.acknowledgement(code: .content, payload: [0x65, 0x53, 0xF1, 0x00])
        #expect(try reply.encoded() == hex("61 45 93 54 0a ff 65 53 f1 00"))
    }

    @Test func signalAndHelloVectors() throws {
        var signal = CoAPMessage(type: .confirmable, code: .put, messageID: 0x1005, token: [0x0B])
        signal.appendPath("s")
        signal.appendQuery([0x01])
        let bytes = try signal.encoded()
        #expect(bytes == hex("41 03 10 05 0b b1 73 41 01"))
        #expect(bytes[8] == 0x01)

        var hello = CoAPMessage(type: .nonConfirmable, code: .post, messageID: 0x1001)
        hello.appendPath("h")
        #expect(try hello.encoded() == hex("50 02 10 01 b1 68"))
    }

    @Test func maxAgeAfterUriPathAndContentFormat() throws {
        var message = CoAPMessage(type: .nonConfirmable, code: .post, messageID: 1)
        message.appendPath("E", "x")
        message.options.append(CoAPOption(.maxAge, value: [0x00, 0x0E, 0x10]))
        let bytes = try message.encoded()
        #expect(Array(bytes[4...]) == hex("b1 45 01 78 33 00 0e 10"))

        message.options.append(CoAPOption(.contentFormat, uint: 42))
        let withFormat = try message.encoded()
        #expect(Array(withFormat[4...]) == hex("b1 45 01 78 11 2a 23 00 0e 10"))
        let decoded = try CoAPMessage(decoding: withFormat)
        #expect(decoded.contentFormat == 42)
        #expect(decoded.maxAge == 3600)
    }

    @Test func roundTripsEveryTypeAndTokenLength() throws {
        for type in CoAPType.allCases {
            for tokenLength in 0...8 {
                var message = CoAPMessage(
                    type: type,
                    code: .content,
                    messageID: UInt16(tokenLength * 4097),
                    token: (0..<tokenLength).map { UInt8($0 + 1) },
                    payload: [1, 2, 3]
                )
                message.appendPath("a", "bc")
                message.options.append(CoAPOption(.block2, uint: 0x16))
                message.options.append(CoAPOption(.noResponse, uint: 26))
                let decoded = try CoAPMessage(decoding: message.encoded())
                #expect(decoded == message)
            }
        }
    }

    @Test func encoderSortsOptionsStably() throws {
        let message = CoAPMessage(
            type: .confirmable,
            code: .post,
            messageID: 1,
            options: [
                CoAPOption(.uriQuery, string: "q"), CoAPOption(.uriPath, string: "f"),
                CoAPOption(.uriPath, string: "name"),
            ]
        )
        let decoded = try CoAPMessage(decoding: message.encoded())
        #expect(decoded.uriPath == ["f", "name"])
        #expect(decoded.uriQuery == [Array("q".utf8)])
    }
}
