/// Reads the modulus and exponent out of an RSA public key in DER: a SubjectPublicKeyInfo
/// (`SEQUENCE { SEQUENCE { rsaEncryption, NULL }, BIT STRING { RSAPublicKey } }`) or a PKCS#1
/// `RSAPublicKey` (`SEQUENCE { INTEGER n, INTEGER e }`).
///
/// swift-crypto 3.12's DER initialisers of `_RSA.Encryption.PublicKey` free their key twice when
/// both encodings fail to parse (an explicit free, then `deinit`): a use-after-free that any
/// bytes a device sends in its handshake could trigger. Keys are therefore read here and built
/// from their numbers, so swift-crypto never sees bytes that are not a key.
enum RSAPublicKeyDER {
    private static let rsaEncryption: [UInt8] = [0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x01]

    /// The big-endian modulus and exponent (no leading zeros), or `nil` if `der` is not exactly
    /// one RSA public key in either form.
    static func components(of der: [UInt8]) -> (modulus: [UInt8], exponent: [UInt8])? {
        var reader = Reader(der[...])
        guard let sequence = reader.read(tag: 0x30), reader.isEmpty else { return nil }
        var outer = Reader(sequence)
        if outer.peek == 0x30 {
            // SubjectPublicKeyInfo.
            guard let identifier = outer.read(tag: 0x30) else { return nil }
            var algorithm = Reader(identifier)
            guard let oid = algorithm.read(tag: 0x06), oid.elementsEqual(Self.rsaEncryption) else { return nil }
            if !algorithm.isEmpty {
                guard let null = algorithm.read(tag: 0x05), null.isEmpty, algorithm.isEmpty else { return nil }
            }
            guard let bits = outer.read(tag: 0x03), outer.isEmpty, bits.first == 0 else { return nil }
            var inner = Reader(bits.dropFirst())
            guard let key = inner.read(tag: 0x30), inner.isEmpty else { return nil }
            return Self.integers(key)
        }
        return Self.integers(outer.rest)
    }

    /// `INTEGER n, INTEGER e` and nothing else, both positive.
    private static func integers(_ bytes: ArraySlice<UInt8>) -> (modulus: [UInt8], exponent: [UInt8])? {
        var reader = Reader(bytes)
        guard let n = reader.read(tag: 0x02), let e = reader.read(tag: 0x02), reader.isEmpty,
            let modulus = Self.positive(n), let exponent = Self.positive(e)
        else { return nil }
        return (modulus, exponent)
    }

    private static func positive(_ integer: ArraySlice<UInt8>) -> [UInt8]? {
        guard let first = integer.first, first & 0x80 == 0 else { return nil }
        let magnitude = Array(integer.drop { $0 == 0 })
        return magnitude.isEmpty ? nil : magnitude
    }

    /// Definite-length DER elements, one after another.
    private struct Reader {
        private(set) var rest: ArraySlice<UInt8>

        init(_ bytes: ArraySlice<UInt8>) {
            self.rest = bytes
        }

        var isEmpty: Bool { self.rest.isEmpty }
        var peek: UInt8? { self.rest.first }

        /// The contents of the next element if it has `tag`; `nil` (reading nothing) otherwise.
        mutating func read(tag: UInt8) -> ArraySlice<UInt8>? {
            var index = self.rest.startIndex
            guard index < self.rest.endIndex, self.rest[index] == tag else { return nil }
            index += 1
            guard index < self.rest.endIndex else { return nil }
            let first = self.rest[index]
            index += 1
            var length = Int(first)
            if first >= 0x80 {
                let count = Int(first & 0x7F)
                guard (1...4).contains(count), self.rest.endIndex - index >= count, self.rest[index] != 0 else {
                    return nil
                }
                length = self.rest[index..<index + count].reduce(0) { $0 << 8 | Int($1) }
                index += count
                guard length >= 0x80 else { return nil }  // DER: the short form where it fits
            }
            guard self.rest.endIndex - index >= length else { return nil }
            let contents = self.rest[index..<index + length]
            self.rest = self.rest[(index + length)...]
            return contents
        }
    }
}
