/// The secrets of one DTLS 1.2 session and the keys derived from them (RFC 5246 §6.3, §8.1).
///
/// No extended master secret: Particle devices do not offer it (mbedTLS is built without
/// `MBEDTLS_SSL_EXTENDED_MASTER_SECRET` in Device OS), so the master secret is
/// `PRF(pre_master_secret, "master secret", client_random ‖ server_random)[0..<48]`.
/// The key block for AES-128-CCM_8 has no MAC keys: `client_write_key[16] ‖ server_write_key[16]
/// ‖ client_write_IV[4] ‖ server_write_IV[4]` (RFC 6655 §3: a 4-byte implicit nonce part).
///
/// Its description never shows the secrets.
public struct KeyMaterial: Sendable, CustomStringConvertible {
    /// Which side's Finished message a verify_data is for.
    public enum Sender: Sendable {
        /// The client (the device): label `"client finished"`.
        case client
        /// The server: label `"server finished"`.
        case server
    }

    /// The 48-byte master secret.
    public let masterSecret: [UInt8]
    /// The 32-byte ClientHello random.
    public let clientRandom: [UInt8]
    /// The 32-byte ServerHello random.
    public let serverRandom: [UInt8]
    /// The device's AES-128 write key.
    public let clientWriteKey: [UInt8]
    /// The server's AES-128 write key.
    public let serverWriteKey: [UInt8]
    /// The device's 4-byte implicit nonce (salt).
    public let clientWriteIV: [UInt8]
    /// The server's 4-byte implicit nonce (salt).
    public let serverWriteIV: [UInt8]

    /// Derives the master secret from the ECDHE shared secret (the x-coordinate, 32 bytes), then
    /// the keys.
    public init(preMasterSecret: some Collection<UInt8>, clientRandom: [UInt8], serverRandom: [UInt8]) throws(DTLSError)
    {
        guard clientRandom.count == 32, serverRandom.count == 32 else { throw .invalidSessionState }
        let master = PRF.sha256(
            secret: preMasterSecret,
            label: "master secret",
            seed: clientRandom + serverRandom,
            count: 48
        )
        try self.init(masterSecret: master, clientRandom: clientRandom, serverRandom: serverRandom)
    }

    /// Re-derives the keys from a master secret and both randoms, as the device does when it
    /// resumes a session from its saved state (Device OS `SessionPersist::restore` calls
    /// `mbedtls_ssl_derive_keys`).
    public init(masterSecret: [UInt8], clientRandom: [UInt8], serverRandom: [UInt8]) throws(DTLSError) {
        guard masterSecret.count == 48, clientRandom.count == 32, serverRandom.count == 32 else {
            throw .invalidSessionState
        }
        self.masterSecret = masterSecret
        self.clientRandom = clientRandom
        self.serverRandom = serverRandom
        // The key block takes the randoms in the other order: server_random ‖ client_random.
        let block = PRF.sha256(
            secret: masterSecret,
            label: "key expansion",
            seed: serverRandom + clientRandom,
            count: 40
        )
        self.clientWriteKey = Array(block[0..<16])
        self.serverWriteKey = Array(block[16..<32])
        self.clientWriteIV = Array(block[32..<36])
        self.serverWriteIV = Array(block[36..<40])
    }

    /// The 12-byte verify_data of a Finished message: `PRF(master_secret, finished_label,
    /// SHA256(handshake_messages))[0..<12]`.
    public func verifyData(for sender: Sender, handshakeHash: some Sequence<UInt8>) -> [UInt8] {
        let label =
            switch sender {
            case .client: "client finished"
            case .server: "server finished"
            }
        return PRF.sha256(secret: self.masterSecret, label: label, seed: Array(handshakeHash), count: 12)
    }

    /// The protection of records the device sends (decrypt with the client write key).
    public var clientProtection: RecordProtection {
        try! RecordProtection(key: self.clientWriteKey, implicitNonce: self.clientWriteIV)
    }

    /// The protection of records the server sends.
    public var serverProtection: RecordProtection {
        try! RecordProtection(key: self.serverWriteKey, implicitNonce: self.serverWriteIV)
    }

    /// Names the type only; the secrets are never printed.
    public var description: String { "KeyMaterial(<redacted>)" }
}
