// swift-crypto 3.12.3 does not mark its P-256 keys Sendable, though they are immutable values.
@preconcurrency import Crypto
import Foundation

/// A UDP device's EC P-256 public key, as provisioned on the server and as presented in the
/// DTLS handshake (a raw public key in its client Certificate).
///
/// Only the 91-byte SubjectPublicKeyInfo form Device OS sends is read, by comparing its fixed
/// header and handing the point to swift-crypto, which checks it lies on the curve: no general
/// DER parser sees bytes from outside.
public struct ECDevicePublicKey: Hashable, Sendable {
    /// The 91-byte SubjectPublicKeyInfo DER.
    public let derRepresentation: [UInt8]

    /// The 26 bytes every P-256 SubjectPublicKeyInfo starts with (id-ecPublicKey, prime256v1,
    /// an uncompressed point follows).
    static let spkiHeader: [UInt8] = [
        0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48,
        0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
    ]

    /// Parses a 91-byte P-256 SubjectPublicKeyInfo DER.
    ///
    /// - Throws: ``DeviceProtocolError/invalidDeviceKey`` for anything else.
    public init(derRepresentation: some DataProtocol) throws(DeviceProtocolError) {
        let bytes = Array(derRepresentation)
        guard bytes.count == 91, Array(bytes.prefix(26)) == Self.spkiHeader, bytes[26] == 0x04 else {
            throw .invalidDeviceKey
        }
        guard (try? P256.Signing.PublicKey(x963Representation: bytes[26...])) != nil else {
            throw .invalidDeviceKey
        }
        self.derRepresentation = bytes
    }

    /// Parses a PEM public key (`BEGIN PUBLIC KEY`) holding a P-256 SubjectPublicKeyInfo.
    public init(pemRepresentation: String) throws(DeviceProtocolError) {
        guard pemRepresentation.contains("-----BEGIN PUBLIC KEY-----"),
            let der = Data(base64Encoded: Self.pemBody(pemRepresentation))
        else { throw .invalidDeviceKey }
        try self.init(derRepresentation: der)
    }

    /// The public half of a device's private key: SEC1 `ECPrivateKey` DER (the `device_key.der`
    /// of a Gen3 device) or PKCS#8, DER or PEM.
    public init(privateKey bytes: some DataProtocol) throws(DeviceProtocolError) {
        let data = Data(bytes)
        let key: P256.Signing.PrivateKey
        if let text = String(data: data, encoding: .utf8), text.contains("PRIVATE KEY-----") {
            guard let parsed = try? P256.Signing.PrivateKey(pemRepresentation: text) else { throw .invalidDeviceKey }
            key = parsed
        } else {
            // Only what looks like a P-256 key (the curve's OID is inside) goes to the parser.
            let oid: [UInt8] = [0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07]
            let array = Array(data)
            guard array.count < 512, array.first == 0x30, Self.contains(array, oid),
                let parsed = try? P256.Signing.PrivateKey(derRepresentation: array)
            else { throw .invalidDeviceKey }
            key = parsed
        }
        try self.init(derRepresentation: key.publicKey.derRepresentation)
    }

    /// PEM (`BEGIN PUBLIC KEY`) of the SubjectPublicKeyInfo.
    public var pemRepresentation: String {
        let base64 = Array(Data(self.derRepresentation).base64EncodedString().utf8)
        let lines = stride(from: 0, to: base64.count, by: 64).map {
            String(decoding: base64[$0..<min($0 + 64, base64.count)], as: UTF8.self)
        }
        return "-----BEGIN PUBLIC KEY-----\n" + lines.joined(separator: "\n") + "\n-----END PUBLIC KEY-----"
    }

    static func pemBody(_ text: String) -> String {
        text.split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("-----") }
            .joined()
    }

    private static func contains(_ bytes: [UInt8], _ needle: [UInt8]) -> Bool {
        guard bytes.count >= needle.count else { return false }
        return (0...(bytes.count - needle.count)).contains { Array(bytes[$0..<$0 + needle.count]) == needle }
    }
}
