extension CoAPMessage {
    /// The message in wire form.
    ///
    /// Option deltas and lengths use the RFC 7252 nibbles: 0–12 literally, 13 with one extra byte
    /// (`value − 13`), 14 with two extra big-endian bytes (`value − 269`). A length of 13 or 14 is
    /// never written as a bare nibble.
    ///
    /// - Throws: ``CoAPError/invalidTokenLength`` for a token longer than 8 bytes,
    ///   ``CoAPError/optionValueTooLong`` for an option value longer than 65804 bytes,
    ///   ``CoAPError/invalidEmptyMessage`` for an Empty (0.00) message with content.
    public func encoded() throws(CoAPError) -> [UInt8] {
        guard self.token.count <= Self.maximumTokenLength else { throw .invalidTokenLength }
        if self.code == .empty, !self.token.isEmpty || !self.options.isEmpty || !self.payload.isEmpty {
            throw .invalidEmptyMessage
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(4 + self.token.count + self.payload.count + 1 + self.options.count * 8)
        bytes.append(Self.version << 6 | self.type.rawValue << 4 | UInt8(self.token.count))
        bytes.append(self.code.rawValue)
        bytes.append(UInt8(truncatingIfNeeded: self.messageID >> 8))
        bytes.append(UInt8(truncatingIfNeeded: self.messageID))
        bytes.append(contentsOf: self.token)

        let sorted = self.options.enumerated().sorted {
            ($0.element.number, $0.offset) < ($1.element.number, $1.offset)
        }
        var previous = 0
        for (_, option) in sorted {
            let number = Int(option.number.rawValue)
            guard option.value.count <= Self.maximumExtendedValue else { throw .optionValueTooLong }
            let (deltaNibble, deltaExtension) = Self.nibble(for: number - previous)
            let (lengthNibble, lengthExtension) = Self.nibble(for: option.value.count)
            bytes.append(deltaNibble << 4 | lengthNibble)
            bytes.append(contentsOf: deltaExtension)
            bytes.append(contentsOf: lengthExtension)
            bytes.append(contentsOf: option.value)
            previous = number
        }

        if !self.payload.isEmpty {
            bytes.append(Self.payloadMarker)
            bytes.append(contentsOf: self.payload)
        }
        return bytes
    }

    /// The payload marker byte.
    static let payloadMarker: UInt8 = 0xFF

    /// The largest delta or length the extended forms can express: 65535 + 269.
    static let maximumExtendedValue = 0xFFFF + 269

    /// The nibble and extension bytes for an option delta or length.
    static func nibble(for value: Int) -> (UInt8, [UInt8]) {
        switch value {
        case 0...12:
            return (UInt8(value), [])
        case 13...268:
            return (13, [UInt8(value - 13)])
        default:
            let extended = value - 269
            return (14, [UInt8(truncatingIfNeeded: extended >> 8), UInt8(truncatingIfNeeded: extended)])
        }
    }
}
