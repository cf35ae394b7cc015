extension DTLSSession {
    /// Everything needed to resume a session after a server restart, the server's side of
    /// what Device OS keeps in its `SessionPersistData` (`dtls_session_persist.h`).
    ///
    /// The keys are re-derived from the master secret and the randoms, as the device does. The
    /// description never shows the secrets.
    public struct State: Hashable, Sendable, CustomStringConvertible {
        /// The session's connection ID, if one was negotiated.
        public var connectionID: ConnectionID?
        /// The 48-byte master secret.
        public var masterSecret: [UInt8]
        /// The 32-byte client random.
        public var clientRandom: [UInt8]
        /// The 32-byte server random.
        public var serverRandom: [UInt8]
        /// The epoch (1).
        public var epoch: UInt16
        /// The next outgoing sequence number to use after a restore.
        public var nextSequenceNumber: UInt64
        /// The incoming replay window.
        public var replayWindow: ReplayWindow
        /// The device's SubjectPublicKeyInfo DER.
        public var peerPublicKey: [UInt8]

        /// Creates a state from its fields.
        public init(
            connectionID: ConnectionID?,
            masterSecret: [UInt8],
            clientRandom: [UInt8],
            serverRandom: [UInt8],
            epoch: UInt16,
            nextSequenceNumber: UInt64,
            replayWindow: ReplayWindow,
            peerPublicKey: [UInt8]
        ) {
            self.connectionID = connectionID
            self.masterSecret = masterSecret
            self.clientRandom = clientRandom
            self.serverRandom = serverRandom
            self.epoch = epoch
            self.nextSequenceNumber = nextSequenceNumber
            self.replayWindow = replayWindow
            self.peerPublicKey = peerPublicKey
        }

        private static let formatVersion: UInt8 = 1

        /// A compact binary form (about 240 bytes) for a database column:
        /// `version(1) flags(1) [cid(8)] epoch(2) next_seq(8) window_top(8) window_bitmap(8)
        /// master(48) client_random(32) server_random(32) spki_len(2) spki`. It holds the master
        /// secret: store it as a secret.
        public func serialized() -> [UInt8] {
            var bytes: [UInt8] = [Self.formatVersion, self.connectionID == nil ? 0 : 1]
            if let connectionID = self.connectionID {
                bytes.append(contentsOf: connectionID.bytes)
            }
            bytes.appendUInt16(self.epoch)
            bytes.appendBigEndian(self.nextSequenceNumber, bytes: 8)
            bytes.appendBigEndian(self.replayWindow.top, bytes: 8)
            bytes.appendBigEndian(self.replayWindow.bitmap, bytes: 8)
            bytes.append(contentsOf: self.masterSecret)
            bytes.append(contentsOf: self.clientRandom)
            bytes.append(contentsOf: self.serverRandom)
            bytes.appendUInt16(UInt16(self.peerPublicKey.count))
            bytes.append(contentsOf: self.peerPublicKey)
            return bytes
        }

        /// Parses ``serialized()``'s form.
        ///
        /// - Throws: ``DTLSError/invalidSessionState`` for any other bytes.
        public init(serialized: some Collection<UInt8>) throws(DTLSError) {
            var reader = ByteReader(Array(serialized)[...], error: .invalidSessionState)
            guard try reader.readUInt8() == Self.formatVersion else { throw .invalidSessionState }
            let flags = try reader.readUInt8()
            guard flags <= 1 else { throw .invalidSessionState }
            let connectionID = flags == 1 ? ConnectionID(bytes: try reader.readBytes(8)) : nil
            let epoch = try reader.readUInt16()
            let next = try reader.readUInt64()
            let top = try reader.readUInt64()
            let bitmap = try reader.readUInt64()
            let master = Array(try reader.readBytes(48))
            let clientRandom = Array(try reader.readBytes(32))
            let serverRandom = Array(try reader.readBytes(32))
            let key = Array(try reader.readVector16())
            try reader.expectEnd()
            self.init(
                connectionID: connectionID,
                masterSecret: master,
                clientRandom: clientRandom,
                serverRandom: serverRandom,
                epoch: epoch,
                nextSequenceNumber: next,
                replayWindow: ReplayWindow(top: top, bitmap: bitmap),
                peerPublicKey: key
            )
        }

        /// Names the connection ID and counters; never the secrets.
        public var description: String {
            "DTLSSession.State(cid: \(self.connectionID.map(\.description) ?? "none"), next: \(self.nextSequenceNumber))"
        }
    }

    /// The session's state as it is now (``nextSequenceNumber`` unreserved). Prefer
    /// ``reserveSequenceNumbers(_:)`` for what to persist.
    public var state: State {
        State(
            connectionID: self.connectionID,
            masterSecret: self.keyMaterial.masterSecret,
            clientRandom: self.keyMaterial.clientRandom,
            serverRandom: self.keyMaterial.serverRandom,
            epoch: self.epoch,
            nextSequenceNumber: self.nextSequenceNumber,
            replayWindow: self.replayWindow,
            peerPublicKey: self.peerPublicKeyDER
        )
    }

    /// Reserves the next `count` outgoing sequence numbers and returns the state to persist,
    /// whose next sequence number lies past them.
    ///
    /// The device persists its replay window and silently drops any record whose number it has
    /// seen (Device OS ≥ 3.1, `SessionPersist::update`), so a restarted server must never reuse
    /// a number. Write-behind: persist the returned state (it need not be written before the
    /// next ``seal(_:)``), and reserve again when ``needsReservation`` turns `true` (half the
    /// reservation used). After a crash the restored session continues past every number the
    /// reservation covered. Should sealing overtake an unwritten reservation, the numbers between
    /// are at risk; reserve enough for the write latency.
    public mutating func reserveSequenceNumbers(_ count: UInt64 = DTLSSession.defaultReservation) -> State {
        self.reservationSize = max(count, 2)
        self.reservedSequenceNumber = min(
            self.nextSequenceNumber + self.reservationSize,
            Self.maximumSequenceNumber + 1
        )
        var state = self.state
        state.nextSequenceNumber = self.reservedSequenceNumber
        return state
    }

    /// Whether half or more of the last reservation is used (or none was made since the session
    /// was established or restored): persist ``reserveSequenceNumbers(_:)`` again.
    public var needsReservation: Bool {
        guard self.reservedSequenceNumber > self.nextSequenceNumber else { return true }
        return self.reservedSequenceNumber - self.nextSequenceNumber <= self.reservationSize / 2
    }
}
