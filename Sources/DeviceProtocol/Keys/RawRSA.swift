import BigInt
import Foundation

/// Raw RSA arithmetic and PKCS#1 v1.5 padding, for the operations swift-crypto 3.12 does not
/// offer (encryption padding type 2 with small keys, signature padding type 1 without DigestInfo).
enum RawRSA {
    /// `base^exponent mod modulus` on big-endian byte strings, left-padded to `length` bytes; for
    /// public exponents only (not constant-time). `base` must be below `modulus`.
    static func power(_ base: [UInt8], _ exponent: BigUInt, modulus: BigUInt, length: Int) -> [UInt8] {
        let value = BigUInt(Data(base))
        let result =
            Montgomery(modulus: modulus)?.power(value, exponent) ?? value.power(exponent, modulus: modulus)
        return Self.bytes(result, length: length)
    }

    /// `value` as big-endian bytes, left-padded with zeros to `length`.
    static func bytes(_ value: BigUInt, length: Int) -> [UInt8] {
        let serialized = [UInt8](value.serialize())
        guard serialized.count < length else { return Array(serialized.suffix(length)) }
        return Array(repeating: 0, count: length - serialized.count) + serialized
    }

    /// `00 02 PS 00 message` with `PS` non-zero random bytes, `length` bytes in all.
    static func padType2(
        _ message: [UInt8],
        length: Int,
        using generator: inout some RandomNumberGenerator
    ) -> [UInt8]? {
        guard message.count <= length - 11 else { return nil }
        var block: [UInt8] = [0x00, 0x02]
        block.reserveCapacity(length)
        for _ in 0..<(length - 3 - message.count) {
            block.append(UInt8.random(in: 1...255, using: &generator))
        }
        block.append(0x00)
        block.append(contentsOf: message)
        return block
    }

    /// The message inside a type-2 block, or `nil` if the padding is malformed.
    static func unpadType2(_ block: [UInt8]) -> [UInt8]? {
        guard block.count >= 11, block[0] == 0x00, block[1] == 0x02 else { return nil }
        guard let separator = block[2...].firstIndex(of: 0x00), separator >= 10 else { return nil }
        return Array(block[(separator + 1)...])
    }

    /// `00 01 FF…FF 00 message`, `length` bytes in all (type 1, no DigestInfo).
    static func padType1(_ message: [UInt8], length: Int) -> [UInt8] {
        [0x00, 0x01] + Array(repeating: 0xFF, count: length - 3 - message.count) + [0x00] + message
    }
}
