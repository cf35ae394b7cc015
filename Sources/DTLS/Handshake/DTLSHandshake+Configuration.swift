// swift-crypto 3.12.3 does not mark its keys and digests Sendable, though they are
// immutable values (or copy-on-write, for SHA256); the module has no strict concurrency.
@preconcurrency import Crypto

extension DTLSHandshake {
    /// What every handshake of a server shares. Copying it is cheap (the keys are references).
    public struct Configuration: Sendable {
        /// The server's long-term P-256 key, whose public half the devices hold in their server
        /// key blob. It signs every ServerKeyExchange; nothing else authenticates the server.
        public var serverKey: P256.Signing.PrivateKey
        /// The cookie secret for HelloVerifyRequest, or `nil` to skip the cookie exchange
        /// (not recommended: without it a spoofed ClientHello makes the server sign and keep
        /// state). Default: a fresh random secret rotating every 30 s.
        public var cookieSecret: CookieSecret?
        /// The first retransmission timeout of the server's flight. Default 1 s (RFC 6347
        /// §4.2.4.1); it doubles at each retransmission.
        public var initialRetransmissionTimeout: Duration
        /// The largest retransmission timeout. Default 60 s (RFC 6347 §4.2.4.1).
        public var maximumRetransmissionTimeout: Duration
        /// How long a half-open handshake (server flight sent, client flight incomplete) is kept.
        /// Default 60 s: the device gives up after its 3, 6, 12 and 24 s retransmissions, about
        /// 45 s (Device OS `mbedtls_ssl_conf_handshake_timeout(3000, 24000)`).
        public var handshakeLifetime: Duration
        /// How long a completed handshake stays to answer a repeated final client flight with
        /// the server's ChangeCipherSpec + Finished. Default 60 s (the device's 45 s of
        /// retransmissions, with margin).
        public var completionLinger: Duration

        /// A configuration with the documented defaults.
        public init(
            serverKey: P256.Signing.PrivateKey,
            cookieSecret: CookieSecret? = CookieSecret(),
            initialRetransmissionTimeout: Duration = .seconds(1),
            maximumRetransmissionTimeout: Duration = .seconds(60),
            handshakeLifetime: Duration = .seconds(60),
            completionLinger: Duration = .seconds(60)
        ) {
            self.serverKey = serverKey
            self.cookieSecret = cookieSecret
            self.initialRetransmissionTimeout = initialRetransmissionTimeout
            self.maximumRetransmissionTimeout = maximumRetransmissionTimeout
            self.handshakeLifetime = handshakeLifetime
            self.completionLinger = completionLinger
        }
    }

    /// What the gateway must do after feeding a handshake.
    public enum Action: Sendable {
        /// Send this datagram to the client address.
        case send([UInt8])
        /// Call ``DTLSHandshake/timerFired(at:)`` at this instant. Replaces any earlier wake-up
        /// (it is always the current ``DTLSHandshake/deadline``).
        case wakeUp(at: ContinuousClock.Instant)
        /// The handshake completed: register the session under its connection ID (and, for a
        /// device without one, its address). Keep this handshake until its deadline anyway: it
        /// answers a repeated final client flight.
        case established(DTLSSession)
        /// A record or datagram was ignored, for this reason; the handshake goes on.
        case ignored(DTLSError)
        /// The handshake attempt ended for this reason (refused, timed out, or failed
        /// authentication): the machine is idle again and need not be kept.
        case failed(DTLSError)
    }
}
