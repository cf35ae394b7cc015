extension Array where Element == UInt8 {
    /// Appends `value` big-endian in its low `count` bytes (TLS's `uint16`, `uint24`, `uint48`, …).
    mutating func appendBigEndian(_ value: UInt64, bytes count: Int) {
        for shift in stride(from: (count - 1) * 8, through: 0, by: -8) {
            self.append(UInt8(truncatingIfNeeded: value >> UInt64(shift)))
        }
    }

    mutating func appendUInt16(_ value: UInt16) {
        self.appendBigEndian(UInt64(value), bytes: 2)
    }

    mutating func appendUInt24(_ value: Int) {
        self.appendBigEndian(UInt64(value), bytes: 3)
    }

    /// Writes `value` big-endian into `self[offset..<offset + count]`.
    mutating func writeBigEndian(_ value: UInt64, bytes count: Int, at offset: Int) {
        for index in 0..<count {
            self[offset + index] = UInt8(truncatingIfNeeded: value >> UInt64((count - 1 - index) * 8))
        }
    }
}

/// Compares two byte sequences in time that depends only on their lengths, so that a MAC, a
/// cookie or a Finished value cannot be guessed byte by byte from response timing.
func constantTimeEquals(_ lhs: some Collection<UInt8>, _ rhs: some Collection<UInt8>) -> Bool {
    guard lhs.count == rhs.count else { return false }
    var difference: UInt8 = 0
    for (left, right) in zip(lhs, rhs) {
        difference |= left ^ right
    }
    return difference == 0
}

/// Lower-case hex, for descriptions of public values (connection IDs), never of keys.
func hexString(_ bytes: some Sequence<UInt8>) -> String {
    let digits: [Character] = Array("0123456789abcdef")
    var text = ""
    for byte in bytes {
        text.append(digits[Int(byte >> 4)])
        text.append(digits[Int(byte & 0x0F)])
    }
    return text
}
