import BigInt
import Foundation
import _CryptoExtras

/// A device's RSA public key (RSA-1024 on every TCP device), as provisioned on the server and as
/// presented in the handshake.
public struct DevicePublicKey: Hashable, Sendable {
    /// The SubjectPublicKeyInfo DER (162 bytes for RSA-1024).
    public let derRepresentation: [UInt8]
    let modulus: BigUInt
    let exponent: BigUInt
    /// The modulus length in bytes (128 for RSA-1024).
    public let modulusByteCount: Int

    /// Parses a SubjectPublicKeyInfo (or PKCS#1 `RSAPublicKey`) DER key of 1024 bits or more.
    ///
    /// The DER is read by ``RSAPublicKeyDER`` and the key built from its modulus and exponent:
    /// swift-crypto 3.12's own DER parsing frees its key twice when the bytes are not a key.
    public init(derRepresentation: some DataProtocol) throws(DeviceProtocolError) {
        guard let (modulus, exponent) = RSAPublicKeyDER.components(of: Array(derRepresentation)) else {
            throw .invalidDeviceKey
        }
        let key: _RSA.Encryption.PublicKey
        do {
            key = try _RSA.Encryption.PublicKey(n: modulus, e: exponent)
        } catch {
            throw .invalidDeviceKey
        }
        guard key.keySizeInBits >= 1024, key.keySizeInBits % 8 == 0 else { throw .invalidDeviceKey }
        try self.init(key)
    }

    /// Parses a PEM key (`BEGIN PUBLIC KEY` or `BEGIN RSA PUBLIC KEY`) of 1024 bits or more.
    ///
    /// The PEM armour is removed here because swift-crypto 3.12's
    /// `_RSA.Encryption.PublicKey(unsafePEMRepresentation:)` still refuses keys under 2048 bits.
    public init(pemRepresentation: String) throws(DeviceProtocolError) {
        let body = pemRepresentation.split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("-----") }
            .joined()
        let isPublicKey =
            pemRepresentation.contains("-----BEGIN PUBLIC KEY-----")
            || pemRepresentation.contains("-----BEGIN RSA PUBLIC KEY-----")
        guard isPublicKey, let der = Data(base64Encoded: body) else { throw .invalidDeviceKey }
        try self.init(derRepresentation: der)
    }

    private init(_ key: _RSA.Encryption.PublicKey) throws(DeviceProtocolError) {
        guard let primitives = try? key.getKeyPrimitives() else { throw .invalidDeviceKey }
        self.derRepresentation = [UInt8](key.derRepresentation)
        self.modulus = BigUInt(primitives.modulus)
        self.exponent = BigUInt(primitives.publicExponent)
        self.modulusByteCount = key.keySizeInBits / 8
    }

    /// PEM (`BEGIN PUBLIC KEY`) of the SubjectPublicKeyInfo.
    public var pemRepresentation: String {
        let base64 = Array(Data(self.derRepresentation).base64EncodedString().utf8)
        let lines = stride(from: 0, to: base64.count, by: 64).map {
            String(decoding: base64[$0..<min($0 + 64, base64.count)], as: UTF8.self)
        }
        return "-----BEGIN PUBLIC KEY-----\n" + lines.joined(separator: "\n") + "\n-----END PUBLIC KEY-----"
    }

    /// RSA PKCS#1 v1.5 (type 2) encryption of `message` under this key (package-wide: the
    /// fuzz targets encrypt handshake plaintexts with it).
    package func encrypt(
        _ message: [UInt8],
        using generator: inout some RandomNumberGenerator
    ) throws(DeviceProtocolError) -> [UInt8] {
        guard let block = RawRSA.padType2(message, length: self.modulusByteCount, using: &generator) else {
            throw .invalidSessionKeys
        }
        return RawRSA.power(block, self.exponent, modulus: self.modulus, length: self.modulusByteCount)
    }

    /// `block^e mod n` (raw public operation, for verifying the handshake signature).
    func publicOperation(_ block: [UInt8]) -> [UInt8] {
        RawRSA.power(block, self.exponent, modulus: self.modulus, length: self.modulusByteCount)
    }

    /// Two keys are equal when their SubjectPublicKeyInfo DER is.
    public static func == (lhs: DevicePublicKey, rhs: DevicePublicKey) -> Bool {
        lhs.derRepresentation == rhs.derRepresentation
    }

    /// Hashes the SubjectPublicKeyInfo DER.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(self.derRepresentation)
    }
}
