// swift-crypto 3.12.3 does not mark its keys and digests Sendable, though they are
// immutable values (or copy-on-write, for SHA256); the module has no strict concurrency.
@preconcurrency import Crypto

/// The server side of the DTLS 1.2 handshake with a Particle device, as a value-type state
/// machine: datagrams and the time go in, ``Action``s come out. No sockets, no clock of its own.
///
/// The one cipher suite Device OS offers (TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8), raw public keys on
/// both sides (RFC 7250), **no server Certificate message** (the device has the server key from
/// its key blob and refuses one), a CertificateRequest (without it the device never sends its
/// key), and the draft connection ID extension 254 with an 8-byte CID when the device offers it:
///
/// ```
/// device                                   server
/// ClientHello                  ──────►
///                              ◄──────     HelloVerifyRequest (stateless cookie)
/// ClientHello + cookie         ──────►
///                              ◄──────     ServerHello, ServerKeyExchange,
///                                          CertificateRequest, ServerHelloDone
/// Certificate (SPKI), ClientKeyExchange,
/// CertificateVerify, ChangeCipherSpec,
/// Finished (CID record)        ──────►
///                              ◄──────     ChangeCipherSpec, Finished   → established
/// ```
///
/// **Driving it.** Keep one handshake per client address while it is not ``isIdle``. For a
/// datagram that ``DatagramRoute`` routes to ``DatagramRoute/handshake`` from an address with no
/// handshake, make a fresh `DTLSHandshake` and feed it: a ClientHello without a valid cookie is
/// answered with a HelloVerifyRequest and leaves the machine idle, so nothing needs to be
/// stored before the client has proven its address. Carry out the actions in order; schedule
/// ``timerFired(at:)`` for each ``Action/wakeUp(at:)``; drop the machine once it is idle again.
/// Bound how many non-idle handshakes the gateway keeps (each holds about 2 KiB).
///
/// A new ClientHello from an address that has an established session starts a new handshake
/// here; keep the old session until ``Action/established(_:)`` delivers the new one (a device on
/// IPv6 always uses source port 5684).
///
/// The device is identified only later, by the device ID in its first CoAP Hello: the
/// established ``DTLSSession`` carries the verified public key for the gateway to bind.
public struct DTLSHandshake: Sendable {
    /// The server-wide settings and keys.
    public let configuration: Configuration
    /// The client's address bytes (for example IP ‖ port), bound into the cookie.
    public let clientAddress: [UInt8]
    /// When ``timerFired(at:)`` must be called next, if at all.
    public private(set) var deadline: ContinuousClock.Instant?
    private var state: State = .idle

    enum State: Sendable {
        /// No handshake in progress: nothing worth keeping.
        case idle
        /// The server flight was sent; collecting the client's.
        case negotiating(Negotiation)
        /// Done; kept to answer a repeated final client flight.
        case completed(Completion)
    }

    struct Negotiation: Sendable {
        var clientRandom: [UInt8]
        var serverRandom: [UInt8]
        /// The message_seq of the ClientHello answered (0, or 1 after a HelloVerifyRequest).
        var clientHelloSequence: UInt16
        var connectionID: ConnectionID?
        var ephemeralKey: P256.KeyAgreement.PrivateKey
        var transcript: SHA256
        /// The server flight, one datagram, resent as is.
        var flight: [UInt8]
        var nextEpoch0Sequence: UInt64
        /// The message_seq expected next from the client.
        var nextMessageSequence: UInt16
        var reassembler = HandshakeReassembler()
        var clientKey: P256.Signing.PublicKey?
        var keys: KeyMaterial?
        var certificateVerified = false
        var changeCipherSpecReceived = false
        var expires: ContinuousClock.Instant
        var retransmissionTimeout: Duration
        var nextRetransmission: ContinuousClock.Instant
    }

    struct Completion: Sendable {
        var clientRandom: [UInt8]
        var clientHelloSequence: UInt16
        var flight: [UInt8]
        var expires: ContinuousClock.Instant
    }

    /// The largest ClientHello message_seq accepted: 0 first, 1 after a HelloVerifyRequest, a
    /// little more after repeated cookie exchanges.
    static let maximumClientHelloSequence: UInt16 = 255

    /// Creates an idle handshake for a client address.
    public init(configuration: Configuration, clientAddress: some Collection<UInt8>) {
        self.configuration = configuration
        self.clientAddress = Array(clientAddress)
    }

    /// Whether the machine holds nothing worth keeping: before a cookie-verified ClientHello, and
    /// after the handshake failed or its linger time ended. An idle machine behaves exactly as a
    /// fresh one, so the gateway may drop it.
    public var isIdle: Bool {
        if case .idle = self.state { return true }
        return false
    }

    /// Whether the handshake is done and the machine only lingers to answer a repeated final
    /// client flight (``Configuration/completionLinger``). Such a machine belongs to a client
    /// that proved its key, and its session is established already.
    public var isCompleted: Bool {
        if case .completed = self.state { return true }
        return false
    }

    /// The connection ID issued in the ServerHello while the handshake is in progress (for a
    /// gateway that wants to find half-open handshakes by CID as well as by address).
    public var pendingConnectionID: ConnectionID? {
        if case .negotiating(let negotiation) = self.state { return negotiation.connectionID }
        return nil
    }

    /// Bytes held by the handshake for the client's flight (bounded; for tests and metrics).
    var bufferedByteCount: Int {
        if case .negotiating(let negotiation) = self.state { return negotiation.reassembler.bufferedByteCount }
        return 0
    }

    /// Feeds a datagram from the client, with random bytes from the system generator.
    public mutating func receive(_ datagram: ArraySlice<UInt8>, at now: ContinuousClock.Instant) -> [Action] {
        var generator = SystemRandomNumberGenerator()
        return self.receive(datagram, at: now, using: &generator)
    }

    /// Feeds a datagram from the client. `generator` supplies the server random, the
    /// connection ID and the ephemeral ECDH key (a seeded one makes tests deterministic; the
    /// ECDSA signature uses swift-crypto's own randomness).
    public mutating func receive(
        _ datagram: ArraySlice<UInt8>,
        at now: ContinuousClock.Instant,
        using generator: inout some RandomNumberGenerator
    ) -> [Action] {
        var actions: [Action] = []
        var remaining = datagram
        var resent = false
        let previousDeadline = self.deadline
        while !remaining.isEmpty {
            let record: DTLSRecord
            do throws(DTLSError) {
                record = try DTLSRecord.parse(from: &remaining)
            } catch {
                actions.append(.ignored(error))
                break
            }
            switch self.state {
            case .idle:
                if let negotiation = self.acceptClientHello(record, at: now, using: &generator, actions: &actions) {
                    self.state = .negotiating(negotiation)
                } else {
                    remaining = []  // nothing follows a ClientHello; ignore the rest
                }
            case .negotiating(var negotiation):
                self.state = .idle  // so the payload is mutated in place, not copied
                if let next = self.receive(
                    record,
                    negotiating: &negotiation,
                    at: now,
                    using: &generator,
                    actions: &actions,
                    resent: &resent
                ) {
                    self.state = next
                    if case .idle = next { remaining = [] }  // failed: the rest of the datagram is moot
                } else {
                    self.state = .negotiating(negotiation)
                }
            case .completed(let completion):
                if let next = self.receive(
                    record,
                    completed: completion,
                    at: now,
                    using: &generator,
                    actions: &actions,
                    resent: &resent
                ) {
                    self.state = next
                }
            }
        }
        self.updateDeadline()
        if let deadline = self.deadline, deadline != previousDeadline {
            actions.append(.wakeUp(at: deadline))
        }
        return actions
    }

    /// Retransmits the server flight or expires the handshake, as due at `now`. A wake-up that
    /// is no longer current (the deadline moved, or the machine went idle) is harmless: it does
    /// nothing early and re-announces the current deadline.
    public mutating func timerFired(at now: ContinuousClock.Instant) -> [Action] {
        var actions: [Action] = []
        switch self.state {
        case .idle:
            break
        case .negotiating(var negotiation):
            if now >= negotiation.expires {
                self.state = .idle
                actions.append(.failed(.handshakeTimeout))
            } else if now >= negotiation.nextRetransmission {
                actions.append(.send(negotiation.flight))
                negotiation.retransmissionTimeout = min(
                    negotiation.retransmissionTimeout * 2,
                    self.configuration.maximumRetransmissionTimeout
                )
                negotiation.nextRetransmission = now + negotiation.retransmissionTimeout
                self.state = .negotiating(negotiation)
            }
        case .completed(let completion):
            if now >= completion.expires {
                self.state = .idle
            }
        }
        self.updateDeadline()
        if let deadline = self.deadline {
            actions.append(.wakeUp(at: deadline))
        }
        return actions
    }

    private mutating func updateDeadline() {
        switch self.state {
        case .idle: self.deadline = nil
        case .negotiating(let negotiation): self.deadline = min(negotiation.nextRetransmission, negotiation.expires)
        case .completed(let completion): self.deadline = completion.expires
        }
    }
}
