import Crypto

/// Random secrets and the SHA-256 digests that the database keeps in their place.
public enum TokenHasher {
    /// A new token: 20 bytes from the system's secure generator as 40 lower-case hex characters.
    public static func generate() -> String {
        var generator = SystemRandomNumberGenerator()
        return hex((0..<20).map { _ in UInt8.random(in: .min ... .max, using: &generator) })
    }

    /// A new 24-hex id (12 random bytes), the shape of Particle's user ids.
    public static func generateID() -> String {
        var generator = SystemRandomNumberGenerator()
        return hex((0..<12).map { _ in UInt8.random(in: .min ... .max, using: &generator) })
    }

    /// The SHA-256 of `token`, as 64 hex characters: the only form a token is looked up by.
    public static func hash(_ token: String) -> String {
        hex(SHA256.hash(data: Array(token.utf8)))
    }

    static func hex(_ bytes: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(64)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
