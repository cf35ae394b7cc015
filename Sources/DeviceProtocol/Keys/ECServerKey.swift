// swift-crypto 3.12.3 does not mark its P-256 keys Sendable, though they are immutable values.
@preconcurrency import Crypto
import Foundation

/// The server's EC P-256 key for UDP devices: it signs every DTLS ServerKeyExchange, and its
/// public half is what UDP devices hold in their server key blob.
public struct ECServerKey: Sendable {
    /// The private key.
    public let signingKey: P256.Signing.PrivateKey

    /// Wraps a P-256 private key.
    public init(_ signingKey: P256.Signing.PrivateKey) {
        self.signingKey = signingKey
    }

    /// A new random key.
    public static func generate() -> ECServerKey {
        ECServerKey(P256.Signing.PrivateKey())
    }

    /// Parses a PEM private key (`BEGIN EC PRIVATE KEY` or `BEGIN PRIVATE KEY`).
    ///
    /// - Throws: ``DeviceProtocolError/invalidServerKey`` if it is not a P-256 private key.
    public init(pemRepresentation: String) throws(DeviceProtocolError) {
        guard pemRepresentation.contains("PRIVATE KEY-----") else { throw .invalidServerKey }
        do {
            self.signingKey = try P256.Signing.PrivateKey(pemRepresentation: pemRepresentation)
        } catch {
            throw .invalidServerKey
        }
    }

    /// PEM (`BEGIN PRIVATE KEY`, PKCS#8) of the private key.
    public var pemRepresentation: String { signingKey.pemRepresentation }

    /// The public key as the 91-byte SubjectPublicKeyInfo DER devices store.
    public var publicKeyDER: [UInt8] { Array(signingKey.publicKey.derRepresentation) }
}
