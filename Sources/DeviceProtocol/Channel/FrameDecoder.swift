import Crypto
import _CryptoExtras

/// The receiving half of the encrypted channel: bytes in, decrypted CoAP messages out.
///
/// Input may be split at any byte. Each frame is `uint16 BE length ‖ ciphertext`; the ciphertext
/// is AES-128-CBC with PKCS#7 under the session key, and the IV of the next frame is the first 16
/// bytes of this frame's ciphertext.
public struct FrameDecoder: Sendable {
    private let key: [UInt8]
    private var iv: [UInt8]
    private var buffer: [UInt8] = []
    private var start = 0
    /// The error that ended decoding, once one frame was bad; every later call throws it.
    public private(set) var failure: DeviceProtocolError?
    /// The largest ciphertext length accepted; longer frames fail with
    /// ``DeviceProtocolError/frameTooLong``. Default 65535 (the most the prefix can express).
    public let maximumFrameLength: Int

    /// Creates a decoder for one direction.
    public init(keys: SessionKeys, maximumFrameLength: Int = 0xFFFF) {
        self.key = keys.aesKey
        self.iv = keys.initialIV
        self.maximumFrameLength = maximumFrameLength
    }

    /// The number of received bytes not yet forming a whole frame.
    public var bufferedByteCount: Int { self.buffer.count - self.start }

    /// Appends received bytes and returns every message completed by them, in order.
    ///
    /// A bad frame ends decoding: if good messages came before it in the same bytes, they are
    /// returned and ``failure`` is set (handle them, then close); otherwise, and on every later
    /// call, the error is thrown. The connection must then be closed.
    public mutating func decode(_ bytes: some Collection<UInt8>) throws(DeviceProtocolError) -> [[UInt8]] {
        if let failure = self.failure { throw failure }
        self.buffer.append(contentsOf: bytes)
        var messages: [[UInt8]] = []
        do {
            while let message = try self.nextMessage() {
                messages.append(message)
            }
        } catch {
            self.failure = error
            self.buffer = []
            self.start = 0
            guard !messages.isEmpty else { throw error }
            return messages
        }
        if self.start == self.buffer.count {
            self.buffer.removeAll(keepingCapacity: true)
            self.start = 0
        } else if self.start > 4096 {
            self.buffer.removeSubrange(0..<self.start)
            self.start = 0
        }
        return messages
    }

    private mutating func nextMessage() throws(DeviceProtocolError) -> [UInt8]? {
        guard self.buffer.count - self.start >= 2 else { return nil }
        let length = Int(self.buffer[self.start]) << 8 | Int(self.buffer[self.start + 1])
        guard length > 0, length.isMultiple(of: 16) else { throw .invalidFrameLength }
        guard length <= self.maximumFrameLength else { throw .frameTooLong }
        guard self.buffer.count - self.start - 2 >= length else { return nil }
        let body = self.start + 2
        let ciphertext = self.buffer[body..<body + length]
        let plaintext: [UInt8]
        do {
            let iv = try AES._CBC.IV(ivBytes: self.iv)
            plaintext = [UInt8](try AES._CBC.decrypt(ciphertext, using: SymmetricKey(data: self.key), iv: iv))
        } catch {
            throw .decryptionFailed
        }
        self.iv = Array(ciphertext.prefix(16))
        self.start = body + length
        return plaintext
    }
}
