extension CoAPMessage {
    /// Decodes exactly one message occupying all of `bytes`.
    ///
    /// - Throws: ``CoAPError/truncated`` when the bytes end inside the header, token, an extended
    ///   option field or an option value; ``CoAPError/unsupportedVersion``;
    ///   ``CoAPError/invalidTokenLength`` for a token length of 9–15;
    ///   ``CoAPError/reservedOptionNibble`` for a delta or length nibble of 15 (other than the
    ///   `0xFF` payload marker); ``CoAPError/emptyPayloadAfterMarker``;
    ///   ``CoAPError/optionNumberOutOfRange``; ``CoAPError/invalidEmptyMessage`` for a 0.00 message
    ///   with anything after the message ID.
    public init(decoding bytes: some Collection<UInt8>) throws(CoAPError) {
        let bytes = Array(bytes)
        guard bytes.count >= 4 else { throw .truncated }
        guard bytes[0] >> 6 == Self.version else { throw .unsupportedVersion }
        let type = CoAPType(rawValue: (bytes[0] >> 4) & 0x03)!
        let tokenLength = Int(bytes[0] & 0x0F)
        guard tokenLength <= Self.maximumTokenLength else { throw .invalidTokenLength }
        let code = CoAPCode(rawValue: bytes[1])
        let messageID = UInt16(bytes[2]) << 8 | UInt16(bytes[3])
        if code == .empty, bytes.count != 4 || tokenLength != 0 { throw .invalidEmptyMessage }
        guard bytes.count >= 4 + tokenLength else { throw .truncated }
        let token = Array(bytes[4..<4 + tokenLength])

        var index = 4 + tokenLength
        var options: [CoAPOption] = []
        var number = 0
        var payload: [UInt8] = []
        while index < bytes.count {
            let header = bytes[index]
            index += 1
            if header == Self.payloadMarker {
                guard index < bytes.count else { throw .emptyPayloadAfterMarker }
                payload = Array(bytes[index...])
                break
            }
            let delta = try Self.extendedValue(nibble: header >> 4, bytes: bytes, index: &index)
            let length = try Self.extendedValue(nibble: header & 0x0F, bytes: bytes, index: &index)
            number += delta
            guard number <= Int(UInt16.max) else { throw .optionNumberOutOfRange }
            guard bytes.count - index >= length else { throw .truncated }
            options.append(
                CoAPOption(CoAPOption.Number(rawValue: UInt16(number)), value: Array(bytes[index..<index + length]))
            )
            index += length
        }
        self.init(type: type, code: code, messageID: messageID, token: token, options: options, payload: payload)
    }

    /// Reads the value behind a delta or length nibble, consuming its extension bytes.
    private static func extendedValue(nibble: UInt8, bytes: [UInt8], index: inout Int) throws(CoAPError) -> Int {
        switch nibble {
        case 0...12:
            return Int(nibble)
        case 13:
            guard index < bytes.count else { throw .truncated }
            defer { index += 1 }
            return Int(bytes[index]) + 13
        case 14:
            guard bytes.count - index >= 2 else { throw .truncated }
            defer { index += 2 }
            return (Int(bytes[index]) << 8 | Int(bytes[index + 1])) + 269
        default:
            throw .reservedOptionNibble
        }
    }
}
