// swift-crypto 3.12.3 does not mark its keys and digests Sendable, though they are
// immutable values (or copy-on-write, for SHA256); the module has no strict concurrency.
@preconcurrency import Crypto

/// An established DTLS session with one device: opens the records it sends and seals the
/// records sent to it.
///
/// It comes from ``DTLSHandshake/Action/established(_:)`` or, after a server restart, from
/// ``init(restoring:)``. A device resumes without any handshake (Device OS restores its keys and
/// just sends encrypted records, possibly from a new address), so a session must outlive
/// connections: persist ``reserveSequenceNumbers(_:)``'s state and keep it for as long as the
/// device may sleep.
///
/// **Receiving.** Route the datagram with ``DatagramRoute``, then call ``open(_:)``. Each record
/// yields an ``Inbound``: application data (a CoAP message), an alert (``Alert/isCloseNotify``
/// ends the session), a datagram to send back (the device repeated its handshake Finished
/// because the server's was lost), or a drop with its reason. Move the session's peer address to
/// the datagram's source when ``RecordInfo/updatesPeerAddress`` says so.
///
/// **Sending.** ``seal(_:)`` one CoAP message per record and per datagram, to the session's
/// current peer address; ``sealCloseNotify()`` to end it.
///
/// **Identity.** The device proved possession of ``peerPublicKey`` in the handshake; its device ID
/// arrives only in its first CoAP Hello. The gateway binds the two (compare ``peerPublicKeyDER``
/// with the key provisioned for that ID) before serving anything else.
public struct DTLSSession: Sendable, CustomStringConvertible {
    /// The connection ID the device puts on its records (Device OS ≥ 3.1), or `nil` for an older
    /// device that did not negotiate one (its session is found by address or device ID).
    public let connectionID: ConnectionID?
    /// The device's public key, verified in the handshake.
    public let peerPublicKey: P256.Signing.PublicKey
    /// The device's public key as the 91-byte SubjectPublicKeyInfo DER that Device OS sends and
    /// Particle's provisioning stores.
    public let peerPublicKeyDER: [UInt8]
    /// The epoch of application records: always 1 (Particle devices never renegotiate).
    public let epoch: UInt16
    /// The sequence number the next sealed record gets.
    public private(set) var nextSequenceNumber: UInt64
    /// The replay window of the device's records.
    public internal(set) var replayWindow: ReplayWindow
    /// The first sequence number not covered by the last persisted reservation.
    public internal(set) var reservedSequenceNumber: UInt64

    let keyMaterial: KeyMaterial
    let inbound: RecordProtection
    let outbound: RecordProtection
    /// The server's ChangeCipherSpec + Finished datagram, kept until the device shows it has it.
    var finalFlight: [UInt8]?
    var reservationSize: UInt64

    /// The largest sequence number a record may carry (48 bits).
    public static let maximumSequenceNumber: UInt64 = (1 << 48) - 1
    /// The default sequence-number reservation: persist every 1000 records sent (at most a few
    /// minutes for a busy device), and skip 1000 numbers after a restart.
    public static let defaultReservation: UInt64 = 1000

    init(
        keyMaterial: KeyMaterial,
        connectionID: ConnectionID?,
        peerPublicKey: P256.Signing.PublicKey,
        nextSequenceNumber: UInt64,
        replayWindow: ReplayWindow,
        finalFlight: [UInt8]?
    ) {
        self.keyMaterial = keyMaterial
        self.connectionID = connectionID
        self.peerPublicKey = peerPublicKey
        self.peerPublicKeyDER = Array(peerPublicKey.derRepresentation)
        self.epoch = 1
        self.nextSequenceNumber = nextSequenceNumber
        self.replayWindow = replayWindow
        self.reservedSequenceNumber = nextSequenceNumber
        self.reservationSize = Self.defaultReservation
        self.inbound = keyMaterial.clientProtection
        self.outbound = keyMaterial.serverProtection
        self.finalFlight = finalFlight
    }

    /// Restores a session from persisted state. Its next sequence number is the state's, which
    /// ``reserveSequenceNumbers(_:)`` put ahead of every number used before; persist a new
    /// reservation (``needsReservation`` is `true`) before sending many records.
    ///
    /// - Throws: ``DTLSError/invalidSessionState`` if the secrets or the key do not parse.
    public init(restoring state: State) throws(DTLSError) {
        let keys = try KeyMaterial(
            masterSecret: state.masterSecret,
            clientRandom: state.clientRandom,
            serverRandom: state.serverRandom
        )
        let key: P256.Signing.PublicKey
        do {
            key = try P256.Signing.PublicKey(derRepresentation: state.peerPublicKey)
        } catch {
            throw .invalidSessionState
        }
        guard state.epoch == 1, state.nextSequenceNumber <= Self.maximumSequenceNumber + 1 else {
            throw .invalidSessionState
        }
        self.init(
            keyMaterial: keys,
            connectionID: state.connectionID,
            peerPublicKey: key,
            nextSequenceNumber: state.nextSequenceNumber,
            replayWindow: state.replayWindow,
            finalFlight: nil
        )
    }

    /// Seals one application-data record (one CoAP message) for the device.
    ///
    /// The gateway must keep the plaintext within the device's maximum message size (its Hello;
    /// 1152 bytes on Gen3/Gen4): a larger record makes Device OS reset its session.
    ///
    /// - Throws: ``DTLSError/plaintextTooLong`` above 2^14 bytes,
    ///   ``DTLSError/sequenceNumberExhausted`` after 2^48 records.
    public mutating func seal(_ applicationData: some Collection<UInt8>) throws(DTLSError) -> [UInt8] {
        try self.seal(applicationData, type: .applicationData)
    }

    /// Seals an alert record for the device.
    public mutating func seal(_ alert: Alert) throws(DTLSError) -> [UInt8] {
        try self.seal(alert.bytes, type: .alert)
    }

    /// Seals an encrypted close_notify alert, which makes Device OS discard the session
    /// (`MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY`) and do a full handshake on its next connection.
    public mutating func sealCloseNotify() throws(DTLSError) -> [UInt8] {
        try self.seal(Alert.closeNotify)
    }

    private mutating func seal(_ plaintext: some Collection<UInt8>, type: ContentType) throws(DTLSError) -> [UInt8] {
        guard self.nextSequenceNumber <= Self.maximumSequenceNumber else { throw .sequenceNumberExhausted }
        let record = try self.outbound.seal(
            plaintext,
            type: type,
            epoch: self.epoch,
            sequenceNumber: self.nextSequenceNumber
        )
        self.nextSequenceNumber += 1
        return record
    }

    /// Names the connection ID and counters; never the keys.
    public var description: String {
        "DTLSSession(cid: \(self.connectionID.map(\.description) ?? "none"), next: \(self.nextSequenceNumber))"
    }
}
