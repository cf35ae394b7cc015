import Crypto
import _CryptoExtras

/// The encrypted message channel, after the handshake: ``seal(_:)`` frames outgoing
/// messages, ``receive(_:)`` turns incoming bytes into messages.
///
/// Both directions start with IV `R[16..<32]`; after each frame the next IV of that direction is
/// the first ciphertext block of that frame.
public struct SecureChannel: Sendable {
    private let key: [UInt8]
    private var sendIV: [UInt8]
    /// The receiving half.
    public var decoder: FrameDecoder

    /// Creates a channel from the handshake's session keys.
    public init(keys: SessionKeys, maximumFrameLength: Int = 0xFFFF) {
        self.key = keys.aesKey
        self.sendIV = keys.initialIV
        self.decoder = FrameDecoder(keys: keys, maximumFrameLength: maximumFrameLength)
    }

    /// Encrypts one message and returns the whole frame (`uint16 BE length ‖ ciphertext`).
    ///
    /// - Throws: ``DeviceProtocolError/frameTooLong`` if the ciphertext would exceed 65535 bytes.
    public mutating func seal(_ plaintext: [UInt8]) throws(DeviceProtocolError) -> [UInt8] {
        guard plaintext.count < 0xFFF0 else { throw .frameTooLong }
        let ciphertext: [UInt8]
        do {
            let iv = try AES._CBC.IV(ivBytes: self.sendIV)
            ciphertext = [UInt8](try AES._CBC.encrypt(plaintext, using: SymmetricKey(data: self.key), iv: iv))
        } catch {
            throw .encryptionFailed
        }
        self.sendIV = Array(ciphertext.prefix(16))
        var frame: [UInt8] = [UInt8(ciphertext.count >> 8), UInt8(ciphertext.count & 0xFF)]
        frame.reserveCapacity(2 + ciphertext.count)
        frame.append(contentsOf: ciphertext)
        return frame
    }

    /// The error that ended the receiving half, if a frame was bad (see ``FrameDecoder/failure``).
    public var failure: DeviceProtocolError? { self.decoder.failure }

    /// Feeds received bytes and returns the messages they complete (those before a bad frame
    /// too; then ``failure`` is set).
    public mutating func receive(_ bytes: some Collection<UInt8>) throws(DeviceProtocolError) -> [[UInt8]] {
        try self.decoder.decode(bytes)
    }
}
