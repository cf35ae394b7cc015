import CoAP
import Testing

@Suite struct CoAPDecodingErrorTests {
    @Test(arguments: ["", "40", "40 01", "40 01 00"])
    func shortHeaderIsTruncated(text: String) {
        #expect(throws: CoAPError.truncated) { try CoAPMessage(decoding: hex(text)) }
    }

    @Test func truncatedPieces() {
        let cases = [
            "42 01 00 01 07",  // token of 2, one byte present
            "40 01 00 01 b1",  // option value missing
            "40 01 00 01 b4 61 62",  // option value short
            "40 01 00 01 d1",  // extended delta byte missing
            "40 01 00 01 bd",  // extended length byte missing
            "40 01 00 01 be 00",  // second extended length byte missing
            "40 01 00 01 bd 00",  // 13-byte value missing
            "40 01 00 01 e1 00",  // 14-extension delta needs two bytes
        ]
        for text in cases {
            #expect(throws: CoAPError.truncated, "\(text)") { try CoAPMessage(decoding: hex(text)) }
        }
    }

    @Test func bareLength14ReadsAsExtended() throws {
        // A sender that wrote length 14 as a bare nibble: the reader sees a two-byte extension
        // and an enormous length, so the message is rejected rather than misparsed.
        let bad = hex("41 02 00 01 07 b1 66 4e") + Array("fourteen bytes".utf8)
        #expect(throws: CoAPError.truncated) { try CoAPMessage(decoding: bad) }
    }

    @Test func reservedNibbles() {
        #expect(throws: CoAPError.reservedOptionNibble) { try CoAPMessage(decoding: hex("40 01 00 01 bf")) }
        #expect(throws: CoAPError.reservedOptionNibble) { try CoAPMessage(decoding: hex("40 01 00 01 f1 00")) }
    }

    @Test func tokenLengthsNineToFifteen() {
        for length in 9...15 {
            let bytes = [0x40 | UInt8(length), 0x01, 0, 1] + Array(repeating: UInt8(0), count: 16)
            #expect(throws: CoAPError.invalidTokenLength) { try CoAPMessage(decoding: bytes) }
        }
        let message = CoAPMessage(type: .confirmable, code: .get, messageID: 1, token: Array(repeating: 1, count: 9))
        #expect(throws: CoAPError.invalidTokenLength) { try message.encoded() }
    }

    @Test func otherErrors() {
        #expect(throws: CoAPError.unsupportedVersion) { try CoAPMessage(decoding: hex("00 01 00 01")) }
        #expect(throws: CoAPError.unsupportedVersion) { try CoAPMessage(decoding: hex("80 01 00 01")) }
        #expect(throws: CoAPError.emptyPayloadAfterMarker) { try CoAPMessage(decoding: hex("40 02 00 01 ff")) }
        #expect(throws: CoAPError.invalidEmptyMessage) { try CoAPMessage(decoding: hex("40 00 00 01 ff 01")) }
        #expect(throws: CoAPError.invalidEmptyMessage) { try CoAPMessage(decoding: hex("41 00 00 01 01")) }
        #expect(throws: CoAPError.optionNumberOutOfRange) {
            try CoAPMessage(decoding: hex("40 01 00 01 e0 ff f2 e0 00 00"))
        }
    }

    @Test func randomBytesNeverCrash() {
        var generator = SplitMix64(seed: 0x5EED)
        for _ in 0..<5000 {
            let count = Int(generator.next() % 40)
            var bytes = (0..<count).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
            if !bytes.isEmpty { bytes[0] = 0x40 | (bytes[0] & 0x3F) }
            if let message = try? CoAPMessage(decoding: bytes) {
                // Anything accepted must re-encode to something that decodes the same.
                #expect((try? CoAPMessage(decoding: message.encoded())) == message)
            }
        }
    }
}

/// A small deterministic generator for the fuzz-style test.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { self.state = seed }
    mutating func next() -> UInt64 {
        self.state &+= 0x9E37_79B9_7F4A_7C15
        var z = self.state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
