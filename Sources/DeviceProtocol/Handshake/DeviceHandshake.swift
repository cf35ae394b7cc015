import Crypto
import Foundation
import _CryptoExtras

/// The device side of the RSA handshake, for simulators and tests: answers the server's
/// nonce and checks the server's reply exactly as Device OS does.
public struct DeviceHandshake: Sendable {
    /// The device's id.
    public let deviceID: DeviceID
    private let privateKey: _RSA.BlindSigning.PrivateKey<SHA384>
    /// The device's public key, as sent in step 2.
    public let publicKey: DevicePublicKey
    private let serverPublicKey: DevicePublicKey

    /// The size of the server's reply in step 3.
    public static let replySize = 384

    /// Creates the device side from its RSA private key (PKCS#1 or PKCS#8, PEM or DER; 1024 bits
    /// on real devices) and the server's public key (SubjectPublicKeyInfo DER, the first 294
    /// bytes of the server key blob).
    public init(
        deviceID: DeviceID,
        privateKey: some DataProtocol,
        serverPublicKeyDER: some DataProtocol
    ) throws(DeviceProtocolError) {
        self.deviceID = deviceID
        self.privateKey = try Self.parsePrivateKey(privateKey)
        self.publicKey = try DevicePublicKey(derRepresentation: self.privateKey.publicKey.derRepresentation)
        self.serverPublicKey = try DevicePublicKey(derRepresentation: serverPublicKeyDER)
    }

    /// Step 2: the 256-byte block answering the server's 40-byte nonce.
    public func answer(nonce: [UInt8]) throws(DeviceProtocolError) -> [UInt8] {
        guard nonce.count == ServerHandshake.nonceSize else { throw .unexpectedInput }
        var generator = SystemRandomNumberGenerator()
        return try self.serverPublicKey.encrypt(
            nonce + self.deviceID.bytes + self.publicKey.derRepresentation,
            using: &generator
        )
    }

    /// Step 3: decrypts `R` from the server's 384-byte reply and checks its HMAC signature.
    public func accept(_ reply: [UInt8]) throws(DeviceProtocolError) -> SessionKeys {
        guard reply.count == Self.replySize else { throw .unexpectedInput }
        let ciphertext = Array(reply[0..<128])
        let signature = Array(reply[128..<384])
        let padded: [UInt8]
        do {
            padded = [UInt8](try self.privateKey.blindSignature(for: ciphertext).rawRepresentation)
        } catch {
            throw .handshakeDecryptionFailed
        }
        guard let material = RawRSA.unpadType2(padded), material.count == 40 else {
            throw .handshakeDecryptionFailed
        }
        let hmac = Array(HMAC<Insecure.SHA1>.authenticationCode(for: ciphertext, using: SymmetricKey(data: material)))
        guard self.serverPublicKey.publicOperation(signature) == RawRSA.padType1(hmac, length: 256) else {
            throw .signatureFailed
        }
        return try SessionKeys(material: material)
    }

    /// Parses an RSA private key of any size from PKCS#1 or PKCS#8, PEM or DER.
    static func parsePrivateKey(_ bytes: some DataProtocol) throws(DeviceProtocolError)
        -> _RSA.BlindSigning.PrivateKey<
            SHA384
        >
    {
        let data = Data(bytes)
        do {
            if let text = String(data: data, encoding: .utf8), text.contains("-----BEGIN") {
                return try _RSA.BlindSigning.PrivateKey<SHA384>(unsafePEMRepresentation: text)
            }
            return try _RSA.BlindSigning.PrivateKey<SHA384>(unsafeDERRepresentation: data)
        } catch {
            throw .invalidDeviceKey
        }
    }
}

extension DevicePublicKey {
    /// The public half of an RSA private key (PKCS#1 or PKCS#8, PEM or DER), such as the
    /// `device_key.der` a device stores.
    public init(privateKey: some DataProtocol) throws(DeviceProtocolError) {
        let key = try DeviceHandshake.parsePrivateKey(privateKey)
        try self.init(derRepresentation: key.publicKey.derRepresentation)
    }
}
