/// The 40 bytes of session key material `R` the server chooses in the handshake.
///
/// Its `description` never shows the key bytes.
public struct SessionKeys: Hashable, Sendable, CustomStringConvertible {
    /// All 40 bytes of `R` (also the HMAC key of the handshake).
    public let material: [UInt8]

    /// Wraps 40 bytes of key material.
    public init(material: some Collection<UInt8>) throws(DeviceProtocolError) {
        guard material.count == 40 else { throw .invalidSessionKeys }
        self.material = Array(material)
    }

    /// The AES-128 key, `R[0..<16]`.
    public var aesKey: [UInt8] { Array(self.material[0..<16]) }
    /// The initial IV of both directions, `R[16..<32]`.
    public var initialIV: [UInt8] { Array(self.material[16..<32]) }
    /// The salt, `R[32..<40]`.
    public var salt: [UInt8] { Array(self.material[32..<40]) }

    /// The device's message-ID counter: starts at the salt's first two bytes read little-endian;
    /// its first ``MessageIDCounter/next()`` is the ID of the device's Hello.
    public var deviceMessageIDs: MessageIDCounter {
        MessageIDCounter(current: UInt16(self.material[32]) | UInt16(self.material[33]) << 8)
    }

    /// Redacted.
    public var description: String { "SessionKeys(<redacted>)" }
}
