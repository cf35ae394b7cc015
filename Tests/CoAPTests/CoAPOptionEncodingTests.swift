import CoAP
import Testing

@Suite struct CoAPOptionEncodingTests {
    /// The option bytes (everything after the 4-byte header) of a token-less message.
    private func optionBytes(_ options: [CoAPOption]) throws -> [UInt8] {
        let message = CoAPMessage(type: .confirmable, code: .post, messageID: 0, options: options)
        return Array(try message.encoded()[4...])
    }

    @Test func spec52Table() throws {
        #expect(try self.optionBytes([CoAPOption(.uriPath, string: "h")]) == hex("b1 68"))

        let name19 = String(repeating: "n", count: 19)
        #expect(
            try self.optionBytes([CoAPOption(.uriPath, string: "f"), CoAPOption(.uriPath, string: name19)])
                == hex("b1 66 0d 06") + Array(name19.utf8)
        )

        let value14 = Array(repeating: UInt8(0x61), count: 14)
        #expect(
            try self.optionBytes([CoAPOption(.uriPath, string: "f"), CoAPOption(.uriQuery, value: value14)])
                == hex("b1 66 4d 01") + value14
        )

        let value300 = Array(repeating: UInt8(0x62), count: 300)
        #expect(
            try self.optionBytes([CoAPOption(.uriPath, string: "f"), CoAPOption(.uriQuery, value: value300)])
                == hex("b1 66 4e 00 1f") + value300
        )
    }

    /// The option-length regression: lengths 13 and 14 are never bare nibbles.
    @Test(arguments: [0, 1, 12, 13, 14, 15, 268, 269, 270, 300, 1024, 65804])
    func lengthBoundaries(length: Int) throws {
        let value = (0..<length).map { UInt8(truncatingIfNeeded: $0) }
        let bytes = try self.optionBytes([CoAPOption(.uriQuery, value: value)])
        let header = bytes[0]
        #expect(header >> 4 == 13)  // delta 15 → 13-extension
        #expect(bytes[1] == 2)  // 15 − 13
        let lengthNibble = header & 0x0F
        switch length {
        case 0...12:
            #expect(lengthNibble == UInt8(length))
            #expect(Array(bytes[2...]) == value)
        case 13...268:
            #expect(lengthNibble == 13)
            #expect(bytes[2] == UInt8(length - 13))
            #expect(Array(bytes[3...]) == value)
        default:
            #expect(lengthNibble == 14)
            let extended = length - 269
            #expect(bytes[2] == UInt8(extended >> 8))
            #expect(bytes[3] == UInt8(extended & 0xFF))
            #expect(Array(bytes[4...]) == value)
        }
        let message = CoAPMessage(
            type: .confirmable,
            code: .post,
            messageID: 7,
            options: [CoAPOption(.uriQuery, value: value)]
        )
        #expect(try CoAPMessage(decoding: message.encoded()) == message)
    }

    @Test(arguments: [0, 12, 13, 14, 268, 269, 270, 1000, 65535])
    func deltaBoundaries(number: Int) throws {
        let option = CoAPOption(CoAPOption.Number(rawValue: UInt16(number)), value: [0xAB])
        let bytes = try self.optionBytes([option])
        switch number {
        case 0...12:
            #expect(bytes[0] == UInt8(number) << 4 | 1)
        case 13...268:
            #expect(bytes[0] == 0xD1)
            #expect(bytes[1] == UInt8(number - 13))
        default:
            #expect(bytes[0] == 0xE1)
            #expect(Int(bytes[1]) << 8 | Int(bytes[2]) == number - 269)
        }
        let decoded = try CoAPMessage(decoding: hex("40 02 00 00") + bytes)
        #expect(decoded.options == [option])
    }

    @Test func valueTooLongIsRejected() {
        let message = CoAPMessage(
            type: .confirmable,
            code: .post,
            messageID: 0,
            options: [CoAPOption(.uriQuery, value: Array(repeating: 0, count: 65805))]
        )
        #expect(throws: CoAPError.optionValueTooLong) { try message.encoded() }
    }

    @Test func uintOptionsAreMinimal() {
        #expect(CoAPOption(.maxAge, uint: 0).value == [])
        #expect(CoAPOption(.maxAge, uint: 60).value == [60])
        #expect(CoAPOption(.maxAge, uint: 0x0E10).value == [0x0E, 0x10])
        #expect(CoAPOption(.maxAge, uint: 0x0100_0000).value == [1, 0, 0, 0])
        #expect(CoAPOption(.maxAge, value: [0x0E, 0x10]).uintValue == 3600)
        #expect(CoAPOption(.maxAge, value: [1, 2, 3, 4, 5]).uintValue == nil)
    }
}
