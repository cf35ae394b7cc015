import BigInt
import Crypto
import Foundation
import _CryptoExtras

/// The server's RSA-2048 private key.
///
/// The private operation runs in BoringSSL (through `_RSA.BlindSigning`'s raw, unpadded
/// signing primitive, which is constant-time, blinded and checks its result); the padding of
/// the handshake's signature is done here.
public struct ServerKey: Sendable {
    private let privateKey: _RSA.BlindSigning.PrivateKey<SHA384>
    let modulus: BigUInt
    let exponent: BigUInt

    /// The modulus length in bytes (256).
    public static let modulusByteCount = 256

    /// The SubjectPublicKeyInfo DER of the public key (294 bytes).
    public let publicKeyDER: [UInt8]

    /// Loads an RSA-2048 private key from PKCS#1 (`RSAPrivateKey`) or PKCS#8 DER.
    public init(derRepresentation: some DataProtocol) throws(DeviceProtocolError) {
        do {
            try self.init(key: _RSA.BlindSigning.PrivateKey<SHA384>(derRepresentation: derRepresentation))
        } catch {
            throw .invalidServerKey
        }
    }

    /// Loads an RSA-2048 private key from PEM (`BEGIN RSA PRIVATE KEY` or `BEGIN PRIVATE KEY`).
    public init(pemRepresentation: String) throws(DeviceProtocolError) {
        do {
            try self.init(key: _RSA.BlindSigning.PrivateKey<SHA384>(pemRepresentation: pemRepresentation))
        } catch {
            throw .invalidServerKey
        }
    }

    /// Generates a new RSA-2048 key with e = 65537.
    public static func generate() throws(DeviceProtocolError) -> ServerKey {
        do {
            return try ServerKey(key: _RSA.BlindSigning.PrivateKey<SHA384>(keySize: .bits2048))
        } catch {
            throw .invalidServerKey
        }
    }

    private init(key: _RSA.BlindSigning.PrivateKey<SHA384>) throws(DeviceProtocolError) {
        guard key.keySizeInBits == 2048, let primitives = try? key.publicKey.getKeyPrimitives() else {
            throw .invalidServerKey
        }
        self.privateKey = key
        self.modulus = BigUInt(primitives.modulus)
        self.exponent = BigUInt(primitives.publicExponent)
        self.publicKeyDER = [UInt8](key.publicKey.derRepresentation)
        guard self.publicKeyDER.count == 294 else { throw .invalidServerKey }
    }

    /// The private key as PKCS#1 DER, for storing it (mode 0600). Never log it.
    public var derRepresentation: [UInt8] {
        [UInt8](self.privateKey.derRepresentation)
    }

    /// The private key as PKCS#8 PEM, for storing it (mode 0600). Never log it.
    public var pemRepresentation: String {
        self.privateKey.pkcs8PEMRepresentation
    }

    /// The public key as PEM (`BEGIN PUBLIC KEY`).
    public var publicKeyPEM: String {
        self.privateKey.publicKey.pemRepresentation
    }

    /// `block^d mod n` for a 256-byte block. BoringSSL's private operation checks its own result
    /// against the public exponent (its defence against fault attacks), so it is not checked
    /// again here.
    func privateOperation(_ block: [UInt8]) throws(DeviceProtocolError) -> [UInt8] {
        guard block.count == Self.modulusByteCount, BigUInt(Data(block)) < self.modulus else {
            throw .signatureFailed
        }
        let result: [UInt8]
        do {
            result = [UInt8](try self.privateKey.blindSignature(for: block).rawRepresentation)
        } catch {
            throw .signatureFailed
        }
        return result
    }

    /// `block^e mod n`.
    func publicOperation(_ block: [UInt8]) -> [UInt8] {
        RawRSA.power(block, self.exponent, modulus: self.modulus, length: Self.modulusByteCount)
    }

    /// Decrypts a 256-byte PKCS#1 v1.5 (type 2) block.
    func decrypt(_ block: [UInt8]) throws(DeviceProtocolError) -> [UInt8] {
        guard block.count == Self.modulusByteCount, BigUInt(Data(block)) < self.modulus else {
            throw .handshakeDecryptionFailed
        }
        let padded: [UInt8]
        do {
            padded = try self.privateOperation(block)
        } catch {
            throw .handshakeDecryptionFailed
        }
        guard let message = RawRSA.unpadType2(padded) else { throw .handshakeDecryptionFailed }
        return message
    }

    /// The raw type-1 signature of the handshake: `(00 01 FF… 00 ‖ digest)^d mod n`, verified before it is
    /// returned.
    func signRaw(_ digest: [UInt8]) throws(DeviceProtocolError) -> [UInt8] {
        try self.privateOperation(RawRSA.padType1(digest, length: Self.modulusByteCount))
    }
}
