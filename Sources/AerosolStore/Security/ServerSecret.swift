import Crypto
import Foundation

/// The server's 256-bit secret, kept in its own file (mode 0600) beside the database, never
/// inside it. It seals the copies of access tokens that `GET /v1/access_tokens` must return,
/// so a stolen database alone reveals no token.
public struct ServerSecret: Sendable {
    private let keyBytes: [UInt8]
    private var key: SymmetricKey { SymmetricKey(data: keyBytes) }

    /// Wraps a 256-bit key.
    public init(key: SymmetricKey) {
        self.keyBytes = key.withUnsafeBytes { Array($0) }
    }

    /// Reads the secret at `path`, creating it (random, mode 0600) if the file does not exist.
    public static func loadOrCreate(at path: String) throws -> ServerSecret {
        let manager = FileManager.default
        if manager.fileExists(atPath: path) {
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            guard data.count == 32 else {
                throw StoreError.corrupt("the server secret \(path) is damaged: expected 32 bytes, found \(data.count)")
            }
            return ServerSecret(key: SymmetricKey(data: data))
        }
        let key = SymmetricKey(size: .bits256)
        let data = key.withUnsafeBytes { Data($0) }
        // Create with 0600 from the start, so the secret is never readable by others.
        guard manager.createFile(atPath: path, contents: data, attributes: [.posixPermissions: 0o600]) else {
            throw StoreError.unavailable("cannot create the server secret at \(path)")
        }
        return ServerSecret(key: key)
    }

    /// Encrypts `plaintext` with AES-256-GCM; the result (nonce, ciphertext, tag) is base64.
    public func seal(_ plaintext: String) throws -> String {
        let box = try AES.GCM.seal(Data(plaintext.utf8), using: key)
        guard let combined = box.combined else { throw StoreError.corrupt("AES-GCM produced no output") }
        return combined.base64EncodedString()
    }

    /// Decrypts what `seal` produced; throws if it was sealed under another key or altered.
    public func open(_ sealed: String) throws -> String {
        guard let data = Data(base64Encoded: sealed) else { throw StoreError.corrupt("sealed value is not base64") }
        let box = try AES.GCM.SealedBox(combined: data)
        let plaintext = try AES.GCM.open(box, using: key)
        return String(decoding: plaintext, as: UTF8.self)
    }

    /// An HMAC-SHA256 of `message` (hex) under a key derived from the secret for `purpose`
    /// (HKDF), so that each use of the secret has a key of its own.
    public func authenticationCode(for message: String, purpose: String) -> String {
        let derived = HKDF<SHA256>.deriveKey(
            inputKeyMaterial: key,
            info: Data("aerosol \(purpose)".utf8),
            outputByteCount: 32
        )
        let code = HMAC<SHA256>.authenticationCode(for: Data(message.utf8), using: derived)
        return TokenHasher.hex(code)
    }
}
