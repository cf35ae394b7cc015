import CoAP
import Testing

/// Seeded random and mutated input for the decoder (issue 3, "bad input"): it must never trap,
/// must reject exactly what RFC 7252 and the device protocol forbid, and whatever it accepts must
/// re-encode to the same message. `CoAPMessage(decoding:)` throws `CoAPError` only (typed
/// throws), so "errors are the module's error type" holds by construction; the tests pin down
/// which error.
@Suite struct CoAPFuzzTests {
    /// Valid messages of the device protocol, and the option-length edges.
    static let corpus: [[UInt8]] = {
        var messages: [[UInt8]] = [
            hex("50 02 f6 05 b1 68 ff 00 03 ff ff 00 36 00 03 00 00 13 8a 03 c0 00 a0 00 00 02 00"),  // Hello
            hex("50 02 93 52 b1 45 04 74 65 6d 70 ff 32 31 2e 35"),  // publish temp=21.5
            hex("41 01 10 02 07 b1 64 41 02"),  // Describe request
            hex("41 01 10 03 08 b1 76 04 74 65 6d 70"),  // variable request
            hex("41 02 10 04 09 b1 66 03 6c 65 64 42 6f 6e"),  // function call
            hex("61 45 93 54 0a ff 65 53 f1 00"),  // time reply
            hex("40 00 12 34"),  // ping
            hex("40 01 93 53 b1 65 04 73 72 76 2f"),  // subscribe
        ]
        for length in [12, 13, 14, 268, 269, 270, 1000] {
            var message = CoAPMessage(type: .confirmable, code: .post, messageID: 0x1004, token: [0x09])
            message.appendPath("f")
            message.appendQuery((0..<length).map { UInt8(truncatingIfNeeded: $0) })
            messages.append(try! message.encoded())
        }
        for number in [13, 14, 268, 269, 270, 65535] {
            let option = CoAPOption(CoAPOption.Number(rawValue: UInt16(number)), value: [0xAB])
            messages.append(
                try! CoAPMessage(type: .nonConfirmable, code: .get, messageID: 1, options: [option]).encoded()
            )
        }
        return messages
    }()

    /// Decodes `bytes`; anything accepted must survive an encode → decode round trip.
    private static func decodeChecked(_ bytes: [UInt8]) -> Result<CoAPMessage, CoAPError> {
        do {
            let message = try CoAPMessage(decoding: bytes)
            #expect((try? CoAPMessage(decoding: message.encoded())) == message, "\(bytes)")
            return .success(message)
        } catch {
            return .failure(error)
        }
    }

    @Test func theCorpusDecodesAndRoundTrips() throws {
        for bytes in Self.corpus {
            guard case .success(let message) = Self.decodeChecked(bytes) else {
                Issue.record("corpus entry rejected: \(bytes.prefix(16))")
                continue
            }
            #expect(try message.encoded() == bytes)
        }
    }

    @Test func mutatedMessagesNeverTrap() {
        var generator = SplitMix64(seed: 0xC0A9)
        var accepted = 0
        for _ in 0..<20_000 {
            var bytes = Self.corpus[Int(generator.next() % UInt64(Self.corpus.count))]
            for _ in 0..<(1 + generator.next() % 3) {
                Self.mutate(&bytes, using: &generator)
            }
            if case .success = Self.decodeChecked(bytes) { accepted += 1 }
        }
        // Both outcomes must occur, or the mutations are not exercising the decoder.
        #expect(accepted > 1000 && accepted < 19_000, "\(accepted) accepted")
    }

    /// One random mutation: bit flips, a byte set to an edge value, a truncation, an
    /// extension, an insertion or a deletion.
    static func mutate(_ bytes: inout [UInt8], using generator: inout SplitMix64) {
        let edges: [UInt8] = [0x00, 0x0C, 0x0D, 0x0E, 0x0F, 0xD0, 0xE0, 0xF0, 0xFF, 0x4F, 0x48, 0x49]
        let position = bytes.isEmpty ? 0 : Int(generator.next() % UInt64(bytes.count))
        switch generator.next() % 6 {
        case 0 where !bytes.isEmpty:
            bytes[position] ^= 1 << UInt8(generator.next() % 8)
        case 1 where !bytes.isEmpty:
            bytes[position] = edges[Int(generator.next() % UInt64(edges.count))]
        case 2:
            bytes.removeLast(Int(generator.next() % UInt64(bytes.count + 1)))
        case 3:
            bytes += (0..<(1 + generator.next() % 20)).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
        case 4:
            bytes.insert(edges[Int(generator.next() % UInt64(edges.count))], at: position)
        default:
            if !bytes.isEmpty { bytes.remove(at: position) }
        }
    }

    /// Every cut of a valid message either ends at an option boundary (a valid, shorter
    /// message) or is reported as truncated: never misread as something else.
    @Test func everyTruncationIsTruncatedOrAnOptionBoundary() throws {
        for bytes in Self.corpus where bytes.count < 2000 {
            let whole = try CoAPMessage(decoding: bytes)
            for cut in 0..<bytes.count {
                switch Self.decodeChecked(Array(bytes[..<cut])) {
                case .success(let prefix):
                    #expect(prefix.payload.isEmpty || whole.payload.starts(with: prefix.payload))
                    #expect(whole.options.starts(with: prefix.options), "cut \(cut) of \(bytes.prefix(8))")
                    #expect(prefix.messageID == whole.messageID)
                case .failure(let error):
                    #expect(
                        error == .truncated || error == .emptyPayloadAfterMarker || error == .invalidEmptyMessage,
                        "cut \(cut) of \(bytes.prefix(8)): \(error)"
                    )
                }
            }
        }
    }

    /// The extended forms at and beyond their limits: 13 + 255 = 268, 269 + 65535 = 65804.
    @Test func extendedNibblesAtTheirLimits() throws {
        // Length 268 (nibble 13, extension FF) and 65804 (nibble 14, extension FF FF).
        let value268 = [UInt8](repeating: 0x61, count: 268)
        let decoded268 = try CoAPMessage(decoding: hex("40 02 00 01 bd ff") + value268)
        #expect(decoded268.options == [CoAPOption(.uriPath, value: value268)])
        let value65804 = [UInt8](repeating: 0x62, count: 65804)
        let decoded65804 = try CoAPMessage(decoding: hex("40 02 00 01 be ff ff") + value65804)
        #expect(decoded65804.options.first?.value.count == 65804)
        // One byte short of either is truncated.
        #expect(throws: CoAPError.truncated) {
            try CoAPMessage(decoding: hex("40 02 00 01 bd ff") + value268.dropLast())
        }
        #expect(throws: CoAPError.truncated) {
            try CoAPMessage(decoding: hex("40 02 00 01 be ff ff") + value65804.dropLast())
        }
        // Option numbers: 269 + 65266 = 65535 is the last; one more is out of range.
        let last = try CoAPMessage(decoding: hex("40 02 00 01 e0 fe f2"))
        #expect(last.options == [CoAPOption(CoAPOption.Number(rawValue: 65535), value: [])])
        #expect(throws: CoAPError.optionNumberOutOfRange) { try CoAPMessage(decoding: hex("40 02 00 01 e0 fe f3")) }
        #expect(throws: CoAPError.optionNumberOutOfRange) { try CoAPMessage(decoding: hex("40 02 00 01 e0 ff ff")) }
        // Two deltas that add up past 65535.
        #expect(throws: CoAPError.optionNumberOutOfRange) {
            try CoAPMessage(decoding: hex("40 02 00 01 e0 80 00 e0 80 00"))
        }
        // An encoder never produces a value longer than the extension can say.
        let tooLong = CoAPMessage(
            type: .confirmable,
            code: .post,
            messageID: 1,
            options: [CoAPOption(.uriPath, value: [UInt8](repeating: 0, count: 65805))]
        )
        #expect(throws: CoAPError.optionValueTooLong) { try tooLong.encoded() }
    }

    @Test func reservedNibblesAndMarkersInEveryPosition() {
        // Nibble 15 as delta or length, after a token, after another option, after an
        // extended option: always reserved. FF alone is the payload marker; a marker with
        // nothing after it is an error wherever it stands.
        let prefixes = [hex("40 02 00 01"), hex("48 02 00 01 01 02 03 04 05 06 07 08"), hex("40 02 00 01 b1 68")]
        let prefixesAfterExtended = prefixes + [hex("40 02 00 01 bd 00") + [UInt8](repeating: 0x41, count: 13)]
        for prefix in prefixesAfterExtended {
            for low in UInt8(0)...14 {
                #expect(throws: CoAPError.reservedOptionNibble) {
                    try CoAPMessage(decoding: prefix + [0xF0 | low, 0, 0])
                }
            }
            for high in UInt8(0)...14 {
                #expect(throws: CoAPError.reservedOptionNibble) {
                    try CoAPMessage(decoding: prefix + [high << 4 | 0x0F, 0, 0])
                }
            }
            #expect(throws: CoAPError.emptyPayloadAfterMarker) { try CoAPMessage(decoding: prefix + [0xFF]) }
            #expect((try? CoAPMessage(decoding: prefix + [0xFF, 0x00]))?.payload == [0x00])
        }
    }

    @Test func tokenLengthsOverEightAreRejectedWhateverFollows() {
        var generator = SplitMix64(seed: 0x70CE)
        for _ in 0..<2000 {
            let length = 9 + Int(generator.next() % 7)
            let tail = (0..<Int(generator.next() % 24)).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
            let code = UInt8(1 + generator.next() % 0xFE)
            let bytes = [0x40 | UInt8(length) | UInt8(generator.next() % 4) << 4, code, 0, 1] + tail
            #expect(throws: CoAPError.invalidTokenLength) { try CoAPMessage(decoding: bytes) }
        }
    }

    /// Messages built from the grammar with random nibble choices (literal, 13, 14, 15), token
    /// lengths up to 15 and payload markers with and without payload; the generator knows
    /// which rule each breaks, and the decoder must report exactly that.
    @Test func generatedMessagesGetTheRightVerdict() throws {
        var generator = SplitMix64(seed: 0x6E4E)
        var verdicts: [String: Int] = [:]
        for _ in 0..<10_000 {
            let (bytes, expected) = Self.generate(using: &generator)
            let outcome = Self.decodeChecked(bytes)
            switch (outcome, expected) {
            case (.success(let message), .success(let options, let payload)):
                #expect(message.options == options)
                #expect(message.payload == payload)
                verdicts["ok", default: 0] += 1
            case (.failure(let error), .failure(let wanted)):
                #expect(error == wanted, "\(bytes): \(error), wanted \(wanted)")
                verdicts["\(error)", default: 0] += 1
            default:
                Issue.record("\(bytes): decoded as \(outcome), wanted \(expected)")
            }
        }
        // Every verdict the generator aims at must have come up.
        #expect(verdicts.count == 5, "\(verdicts)")
    }

    enum Expected {
        case success([CoAPOption], [UInt8])
        case failure(CoAPError)
    }

    static func generate(using generator: inout SplitMix64) -> ([UInt8], Expected) {
        func chance(_ percent: UInt64) -> Bool { generator.next() % 100 < percent }
        func random(_ range: ClosedRange<Int>) -> Int {
            range.lowerBound + Int(generator.next() % UInt64(range.count))
        }
        var failure: CoAPError?
        let tokenLength = chance(10) ? random(9...15) : random(0...8)
        if tokenLength > 8 { failure = .invalidTokenLength }
        var bytes: [UInt8] = [
            0x40 | UInt8(random(0...3)) << 4 | UInt8(tokenLength), UInt8(random(1...255)), 0x12, 0x34,
        ]
        bytes += (0..<min(tokenLength, 8)).map { _ in UInt8(random(0...255)) }
        if tokenLength > 8 { bytes += [0, 0, 0, 0, 0, 0, 0, 0, 0] }

        var options: [CoAPOption] = []
        var number = 0
        /// A delta or length: its nibble and extension bytes (kind 15: reserved).
        func field(_ value: Int, reserved: Bool) -> (UInt8, [UInt8]) {
            if reserved { return (15, []) }
            switch value {
            case 0...12: return (UInt8(value), [])
            case 13...268: return (13, [UInt8(value - 13)])
            default: return (14, [UInt8((value - 269) >> 8), UInt8((value - 269) & 0xFF)])
            }
        }
        for _ in 0..<random(0...4) where failure == nil || tokenLength > 8 {
            let delta = [random(0...12), random(13...268), random(269...600), random(269...65804)][random(0...3)]
            let length = [random(0...12), random(13...14), random(268...270)][random(0...2)]
            let reservedDelta = chance(4)
            let reservedLength = !reservedDelta && chance(4)
            let (deltaNibble, deltaExtension) = field(delta, reserved: reservedDelta)
            let (lengthNibble, lengthExtension) = field(length, reserved: reservedLength)
            let value = (0..<length).map { _ in UInt8(random(0...255)) }
            bytes.append(deltaNibble << 4 | lengthNibble)
            if reservedDelta || reservedLength {
                bytes += [0x00, 0x00]
                if failure == nil { failure = .reservedOptionNibble }
                break
            }
            bytes += deltaExtension + lengthExtension + value
            number += delta
            if number > 65535 {
                if failure == nil { failure = .optionNumberOutOfRange }
                break
            }
            options.append(CoAPOption(CoAPOption.Number(rawValue: UInt16(number)), value: value))
        }
        var payload: [UInt8] = []
        if failure == nil, chance(50) {
            bytes.append(0xFF)
            if chance(15) {
                failure = .emptyPayloadAfterMarker
            } else {
                payload = (0..<random(1...40)).map { _ in UInt8(random(0...255)) }
                bytes += payload
            }
        }
        return (bytes, failure.map { .failure($0) } ?? .success(options, payload))
    }
}
