// swift-crypto 3.12.3 does not mark its keys and digests Sendable, though they are
// immutable values (or copy-on-write, for SHA256); the module has no strict concurrency.
@preconcurrency import Crypto
import _CryptoExtras

/// AES in Counter with CBC-MAC mode (RFC 3610, NIST SP 800-38C), built on the raw AES block of
/// `_CryptoExtras` (`AES.permute(_:key:)`), because swift-crypto has no CCM.
///
/// The DTLS cipher suite TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8 (RFC 6655, RFC 7251) uses an 8-byte
/// tag (M = 8) and a 12-byte nonce (L = 3); other sizes are accepted so the implementation can be
/// checked against the published RFC 3610 (M = 8/10, L = 2) and SP 800-38C (M = 4…14, L = 2…8)
/// vectors.
public struct AESCCM: Sendable {
    /// The tag length M in bytes: 4, 6, 8, 10, 12, 14 or 16.
    public let tagLength: Int
    /// The size L in bytes of the message length field: 2…8. The nonce is `15 - L` bytes.
    public let lengthFieldSize: Int
    private let key: SymmetricKey

    /// The nonce length, `15 - lengthFieldSize`.
    public var nonceLength: Int { 15 - self.lengthFieldSize }

    /// Creates a CCM instance for a 128-, 192- or 256-bit AES key.
    ///
    /// - Parameters:
    ///   - key: the AES key bytes.
    ///   - tagLength: M, default 8 (CCM_8).
    ///   - lengthFieldSize: L, default 3 (a 12-byte nonce, as TLS uses).
    /// - Throws: ``DTLSError/invalidCipherParameters`` for other key sizes, M or L.
    public init(key: some Collection<UInt8>, tagLength: Int = 8, lengthFieldSize: Int = 3) throws(DTLSError) {
        guard [16, 24, 32].contains(key.count),
            (4...16).contains(tagLength), tagLength.isMultiple(of: 2),
            (2...8).contains(lengthFieldSize)
        else { throw .invalidCipherParameters }
        self.key = SymmetricKey(data: Array(key))
        self.tagLength = tagLength
        self.lengthFieldSize = lengthFieldSize
    }

    /// Encrypts and authenticates `plaintext`, returning `ciphertext ‖ tag`.
    ///
    /// - Throws: ``DTLSError/invalidCipherParameters`` if the nonce has the wrong length or the
    ///   plaintext is too long for L.
    public func seal(
        _ plaintext: some Collection<UInt8>,
        nonce: some Collection<UInt8>,
        authenticating additionalData: some Collection<UInt8> = [UInt8]()
    ) throws(DTLSError) -> [UInt8] {
        let nonce = Array(nonce)
        let additionalData = Array(additionalData)
        var output = Array(plaintext)
        let payloadLength = output.count
        output.append(contentsOf: repeatElement(0, count: self.tagLength))
        try self.checkParameters(nonceCount: nonce.count, payloadLength: payloadLength)
        output.withUnsafeMutableBytes { buffer in
            nonce.withUnsafeBytes { nonceBytes in
                additionalData.withUnsafeBytes { aad in
                    self.sealInPlace(
                        nonce: nonceBytes,
                        additionalData: aad,
                        payload: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<payloadLength]),
                        tag: UnsafeMutableRawBufferPointer(rebasing: buffer[payloadLength...])
                    )
                }
            }
        }
        return output
    }

    /// Checks the tag and decrypts `ciphertext ‖ tag`.
    ///
    /// - Throws: ``DTLSError/authenticationFailed`` if the tag does not match (no plaintext is
    ///   returned then), ``DTLSError/invalidCipherParameters`` for a wrong nonce length.
    public func open(
        _ ciphertextAndTag: some Collection<UInt8>,
        nonce: some Collection<UInt8>,
        authenticating additionalData: some Collection<UInt8> = [UInt8]()
    ) throws(DTLSError) -> [UInt8] {
        guard ciphertextAndTag.count >= self.tagLength else { throw .authenticationFailed }
        let nonce = Array(nonce)
        let additionalData = Array(additionalData)
        var buffer = Array(ciphertextAndTag)
        let payloadLength = buffer.count - self.tagLength
        try self.checkParameters(nonceCount: nonce.count, payloadLength: payloadLength)
        let valid = buffer.withUnsafeMutableBytes { bytes in
            nonce.withUnsafeBytes { nonceBytes in
                additionalData.withUnsafeBytes { aad in
                    self.openInPlace(
                        nonce: nonceBytes,
                        additionalData: aad,
                        payload: UnsafeMutableRawBufferPointer(rebasing: bytes[0..<payloadLength]),
                        tag: UnsafeRawBufferPointer(rebasing: bytes[payloadLength...])
                    )
                }
            }
        }
        guard valid else { throw .authenticationFailed }
        buffer.removeLast(self.tagLength)
        return buffer
    }

    func checkParameters(nonceCount: Int, payloadLength: Int) throws(DTLSError) {
        guard nonceCount == self.nonceLength else { throw .invalidCipherParameters }
        if self.lengthFieldSize < 8, payloadLength >= 1 << (8 * self.lengthFieldSize) {
            throw .invalidCipherParameters
        }
    }

    /// Encrypts `payload` in place and writes the M-byte tag to `tag`. The caller has checked
    /// the nonce and payload lengths (``checkParameters(nonceCount:payloadLength:)``).
    func sealInPlace(
        nonce: UnsafeRawBufferPointer,
        additionalData: UnsafeRawBufferPointer,
        payload: UnsafeMutableRawBufferPointer,
        tag: UnsafeMutableRawBufferPointer
    ) {
        let mac = self.cbcMAC(nonce: nonce, additionalData: additionalData, payload: UnsafeRawBufferPointer(payload))
        self.applyKeystream(nonce: nonce, to: payload)
        var s0 = Self.counterBlock(nonce: nonce, lengthFieldSize: self.lengthFieldSize, counter: 0)
        self.encrypt(&s0)
        for index in 0..<self.tagLength {
            tag[index] = mac[index] ^ s0[index]
        }
    }

    /// Decrypts `payload` in place and returns whether `tag` authenticates it (compared in
    /// constant time). On failure the payload is zeroed, so no unauthenticated plaintext leaks.
    func openInPlace(
        nonce: UnsafeRawBufferPointer,
        additionalData: UnsafeRawBufferPointer,
        payload: UnsafeMutableRawBufferPointer,
        tag: UnsafeRawBufferPointer
    ) -> Bool {
        self.applyKeystream(nonce: nonce, to: payload)
        let mac = self.cbcMAC(nonce: nonce, additionalData: additionalData, payload: UnsafeRawBufferPointer(payload))
        var s0 = Self.counterBlock(nonce: nonce, lengthFieldSize: self.lengthFieldSize, counter: 0)
        self.encrypt(&s0)
        var difference: UInt8 = 0
        for index in 0..<self.tagLength {
            difference |= (mac[index] ^ s0[index]) ^ tag[index]
        }
        guard difference == 0 else {
            payload.initializeMemory(as: UInt8.self, repeating: 0)
            return false
        }
        return true
    }

    private func encrypt(_ block: inout AESBlock) {
        // Cannot fail: the key size was checked in init and the block is 16 bytes.
        try! AES.permute(&block, key: self.key)
    }

    /// The unencrypted CBC-MAC value T (RFC 3610 §2.2): B0, the encoded AAD length and AAD, then
    /// the payload, each zero-padded to whole blocks.
    private func cbcMAC(
        nonce: UnsafeRawBufferPointer,
        additionalData: UnsafeRawBufferPointer,
        payload: UnsafeRawBufferPointer
    ) -> AESBlock {
        var x = AESBlock()
        let flags = (additionalData.isEmpty ? 0 : 0x40) | ((self.tagLength - 2) / 2) << 3 | (self.lengthFieldSize - 1)
        x[0] = UInt8(flags)
        for index in 0..<nonce.count {
            x[1 + index] = nonce[index]
        }
        var length = UInt64(payload.count)
        for index in stride(from: 15, to: 15 - self.lengthFieldSize, by: -1) {
            x[index] = UInt8(truncatingIfNeeded: length)
            length >>= 8
        }
        self.encrypt(&x)

        var position = 0
        if !additionalData.isEmpty {
            // The length encoding of RFC 3610 §2.2: 2 bytes below 2^16 - 2^8, else 0xFFFE ‖ 4 bytes
            // (a record's AAD is 13 or 22 bytes; the long form is for the SP 800-38C vectors).
            var prefix: [UInt8] = []
            let count = UInt64(additionalData.count)
            if count < 0xFF00 {
                prefix.appendBigEndian(count, bytes: 2)
            } else if count <= UInt64(UInt32.max) {
                prefix = [0xFF, 0xFE]
                prefix.appendBigEndian(count, bytes: 4)
            } else {
                prefix = [0xFF, 0xFF]
                prefix.appendBigEndian(count, bytes: 8)
            }
            for byte in prefix {
                self.absorb(byte, into: &x, position: &position)
            }
            for byte in additionalData {
                self.absorb(byte, into: &x, position: &position)
            }
            if position > 0 {
                self.encrypt(&x)
                position = 0
            }
        }
        var offset = 0
        while offset + 16 <= payload.count {
            for index in 0..<16 {
                x[index] ^= payload[offset + index]
            }
            self.encrypt(&x)
            offset += 16
        }
        if offset < payload.count {
            for index in 0..<(payload.count - offset) {
                x[index] ^= payload[offset + index]
            }
            self.encrypt(&x)
        }
        return x
    }

    private func absorb(_ byte: UInt8, into x: inout AESBlock, position: inout Int) {
        x[position] ^= byte
        position += 1
        if position == 16 {
            self.encrypt(&x)
            position = 0
        }
    }

    /// XORs the CTR keystream S1, S2, … (counter blocks A_i, i ≥ 1) into `payload`.
    private func applyKeystream(nonce: UnsafeRawBufferPointer, to payload: UnsafeMutableRawBufferPointer) {
        var counter: UInt64 = 1
        var offset = 0
        while offset < payload.count {
            var block = Self.counterBlock(nonce: nonce, lengthFieldSize: self.lengthFieldSize, counter: counter)
            self.encrypt(&block)
            let count = min(16, payload.count - offset)
            for index in 0..<count {
                payload[offset + index] ^= block[index]
            }
            offset += count
            counter += 1
        }
    }

    /// A_i = flags (L - 1) ‖ nonce ‖ i in L bytes (RFC 3610 §2.3).
    private static func counterBlock(nonce: UnsafeRawBufferPointer, lengthFieldSize: Int, counter: UInt64) -> AESBlock {
        var block = AESBlock()
        block[0] = UInt8(lengthFieldSize - 1)
        for index in 0..<nonce.count {
            block[1 + index] = nonce[index]
        }
        var value = counter
        for index in stride(from: 15, to: 15 - lengthFieldSize, by: -1) {
            block[index] = UInt8(truncatingIfNeeded: value)
            value >>= 8
        }
        return block
    }
}
