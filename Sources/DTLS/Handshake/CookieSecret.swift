// swift-crypto 3.12.3 does not mark its keys and digests Sendable, though they are
// immutable values (or copy-on-write, for SHA256); the module has no strict concurrency.
@preconcurrency import Crypto

/// The server secret behind stateless HelloVerifyRequest cookies (RFC 6347 §4.2.1).
///
/// A cookie is `HMAC-SHA256(secret, slot ‖ address ‖ client_version ‖ random ‖ session_id ‖
/// cipher_suites ‖ compression_methods)`, 32 bytes. The client parameters are the ones RFC 6347
/// requires a client to repeat unchanged with the cookie (extensions may differ, so they are
/// left out); `slot` is the number of whole ``rotation`` periods since ``origin``. A cookie is
/// accepted in its own slot and the next, so it lives between one and two rotations, and nothing
/// is stored per client before it comes back: a ClientHello flood from spoofed addresses costs
/// one HMAC and one small reply each.
///
/// Particle's own server binding enables cookies too (node-mbed-dtls `DtlsServer.cc`,
/// `mbedtls_ssl_conf_dtls_cookies`). Several server nodes that share one UDP address must share
/// the secret and origin.
public struct CookieSecret: Sendable, CustomStringConvertible {
    private let key: SymmetricKey
    /// How often the slot changes (default 30 s).
    public let rotation: Duration
    /// The instant slot 0 starts.
    public let origin: ContinuousClock.Instant

    /// The cookie length (a full HMAC-SHA256; the protocol allows up to 255).
    public static let length = 32

    /// A cookie secret with given bytes (at least 16).
    public init(secret: some Collection<UInt8>, rotation: Duration = .seconds(30), origin: ContinuousClock.Instant) {
        precondition(secret.count >= 16, "a cookie secret needs at least 16 bytes")
        precondition(rotation > .zero, "the rotation period must be positive")
        self.key = SymmetricKey(data: Array(secret))
        self.rotation = rotation
        self.origin = origin
    }

    /// A cookie secret with 32 fresh random bytes, slots counted from now.
    public init(rotation: Duration = .seconds(30)) {
        var generator = SystemRandomNumberGenerator()
        let secret = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        self.init(secret: secret, rotation: rotation, origin: .now)
    }

    func slot(at now: ContinuousClock.Instant) -> Int64 {
        Int64(((now - self.origin) / self.rotation).rounded(.down))
    }

    func cookie(address: [UInt8], hello: ClientHello, slot: Int64) -> [UInt8] {
        var hmac = HMAC<SHA256>(key: self.key)
        var header: [UInt8] = []
        header.appendBigEndian(UInt64(bitPattern: slot), bytes: 8)
        header.append(UInt8(truncatingIfNeeded: address.count))
        header.append(contentsOf: address)
        header.appendUInt16(hello.clientVersion)
        hmac.update(data: header)
        hmac.update(data: Array(hello.random))
        hmac.update(data: [UInt8(hello.sessionID.count)] + hello.sessionID)
        var suites: [UInt8] = []
        suites.appendUInt16(UInt16(hello.cipherSuites.count))
        suites.append(contentsOf: hello.cipherSuites)
        hmac.update(data: suites)
        hmac.update(data: [UInt8(hello.compressionMethods.count)] + hello.compressionMethods)
        return Array(hmac.finalize())
    }

    /// The cookie to send in a HelloVerifyRequest now.
    func cookie(address: [UInt8], hello: ClientHello, at now: ContinuousClock.Instant) -> [UInt8] {
        self.cookie(address: address, hello: hello, slot: self.slot(at: now))
    }

    /// Whether the ClientHello's cookie was issued by this secret, for this address and these
    /// parameters, in the current or the previous slot (compared in constant time).
    func isValid(address: [UInt8], hello: ClientHello, at now: ContinuousClock.Instant) -> Bool {
        guard hello.cookie.count == Self.length else { return false }
        let slot = self.slot(at: now)
        let current = constantTimeEquals(self.cookie(address: address, hello: hello, slot: slot), hello.cookie)
        let previous = constantTimeEquals(self.cookie(address: address, hello: hello, slot: slot - 1), hello.cookie)
        return current || previous
    }

    /// Names the type only; the secret is never printed.
    public var description: String { "CookieSecret(rotation: \(self.rotation))" }
}
