import CoAP
import Crypto

/// The device side of an OTA update, for the device simulator: takes the server's messages by
/// the legacy protocol or OTA v3 and answers as Device OS does (`chunked_transfer.cpp`,
/// `firmware_update.cpp`), stores the file, checks its CRC-32 and SHA-256 at the end and reports
/// whether it would run it. ``ReceiverMisbehaviour`` makes it drop, corrupt or refuse.
///
/// It is written from the device's behaviour, not from the server's code: legacy requests are
/// parsed at the fixed offsets Device OS reads. A value-type state machine like the server's:
/// the simulator passes messages, the time and connection changes in, and carries out the
/// ``Action``s. What a real device keeps across a restart or a reconnect (the received bytes of
/// a resumable v3 transfer) stays in the value.
public struct UpdateReceiver: Sendable {
    /// The device's parameters.
    public struct Configuration: Hashable, Sendable {
        /// Which protocol the device speaks (its Hello flag `0x80`).
        public var otaProtocol: OTAProtocol
        /// The transport, which makes the device's separate answers CON (UDP) or NON (TCP).
        public var transport: Transport
        /// The platform modules must be built for.
        public var platformID: UInt16
        /// The largest file accepted. Default 1.5 MiB (the nRF52840 OTA region).
        public var maximumBinarySize = 1_536_000
        /// Legacy: the chunk size when UpdateBegin says 0 (`HAL_OTA_ChunkSize`). Default 512.
        public var defaultChunkSize = 512
        /// Legacy: the most indices in one ChunkMissed (`MISSED_CHUNKS_TO_SEND`): 40, 20 on
        /// Argon and A SoM.
        public var missedChunksLimit = 40
        /// Legacy: `nil` follows the server's fast-OTA request; `true`/`false` is the
        /// application's override (`SPARK_CLOUD_FAST_OTA_ENABLED`).
        public var fastOTA: Bool?
        /// Legacy: whether a disconnect leaves the system-level update "in progress", so that a
        /// new UpdateBegin gets 5.03 until the 300 s timeout restarts the device (inferred from
        /// `ChunkedTransfer::reset`, not observed). Default `true`.
        public var staleUpdateAfterDisconnect = true
        /// Without a chunk for this long the update is abandoned: a legacy device restarts, a v3
        /// device cancels and drops the connection. Default 300 s.
        public var updateTimeout: Duration = .seconds(300)
        /// V3: acknowledge at the latest this long after the last chunk (`OTA_CHUNK_ACK_DELAY`).
        public var acknowledgementDelay: Duration = .milliseconds(200)
        /// V3: acknowledge every this many chunks (`OTA_CHUNK_ACK_COUNT`).
        public var chunksPerAcknowledgement = 2
        /// V3: the receive window in bytes (`OTA_RECEIVE_WINDOW_SIZE`).
        public var receiveWindowBytes = 128 * 1024
        /// V3: the largest chunk size accepted (`MAX_OTA_CHUNK_SIZE`).
        public var maximumChunkSize = 1136
        /// What goes wrong.
        public var misbehaviour = ReceiverMisbehaviour()

        /// Creates a configuration.
        public init(otaProtocol: OTAProtocol, transport: Transport, platformID: UInt16) {
            self.otaProtocol = otaProtocol
            self.transport = transport
            self.platformID = platformID
        }
    }

    /// What the simulator must do.
    public enum Action: Hashable, Sendable {
        /// Send this message.
        case send(CoAPMessage)
        /// Call ``timerFired(at:messageIDs:)`` then; `nil` cancels.
        case deadline(ContinuousClock.Instant?)
        /// Close the connection (a protocol error or a misbehaviour). The receiver has already
        /// forgotten the connection's state.
        case disconnect(String)
        /// The device accepted this firmware and restarts to run it.
        case applied(ValidatedFirmware)
        /// The device abandoned the update, for this reason.
        case rejected(String)
        /// The device restarts (after an update, or a legacy update timeout): reconnect.
        case restart(String)
    }

    let configuration: Configuration
    var misbehaviour: ReceiverMisbehaviour
    var legacy = LegacyState()
    var v3 = V3State()
    /// Replies to recent server CONs by message ID: a retransmission gets the same reply and is
    /// not processed again. Device OS keeps them for `MAX_TRANSMIT_SPAN`, 45 s
    /// (`coap_channel.h`), by time rather than by count: a legacy chunk retransmitted after its
    /// entry was forgotten would be written at the next position.
    var replies: [(id: UInt16, reply: CoAPMessage, time: ContinuousClock.Instant)] = []
    /// The time of the input being handled.
    var now: ContinuousClock.Instant?
    /// How long replies are kept.
    static let duplicateWindow: Duration = .seconds(45)
    /// The most replies kept, whatever their age.
    static let maximumReplies = 4096
    var deadlines: [DeadlineKind: ContinuousClock.Instant] = [:]
    var announced: ContinuousClock.Instant?
    /// Chunk messages received in all.
    var chunksReceived = 0

    enum DeadlineKind: Hashable, Sendable {
        case updateTimeout
        case acknowledgement
    }

    /// A device with `configuration`, no update in progress.
    public init(configuration: Configuration) {
        self.configuration = configuration
        self.misbehaviour = configuration.misbehaviour
    }

    /// Whether `message` is for the receiver: an OTA request of its protocol, or the ACK of a
    /// CON it sent that matters (the v3 finish response and error responses).
    public func handles(_ message: CoAPMessage) -> Bool {
        switch message.type {
        case .acknowledgement, .reset:
            return message.messageID == self.v3.finishResponseID || message.messageID == self.v3.errorResponseID
        case .confirmable, .nonConfirmable:
            let letter = message.uriPath.first ?? ""
            switch (self.configuration.otaProtocol, message.code, letter) {
            case (.legacy, .post, "u"), (.legacy, .post, "c"), (.legacy, .put, "u"): return true
            case (.v3, .post, "S"), (.v3, .post, "C"), (.v3, .post, "F"): return true
            default: return false
            }
        }
    }

    /// Whether an update is in progress on the device.
    public var isUpdating: Bool { self.legacy.updating || self.v3.updating }

    /// V3: bytes kept from an interrupted transfer (what a resuming UpdateStart is told).
    public var heldBytes: Int { self.v3.persisted?.partialSize ?? 0 }

    /// Handles a message from the server (see ``handles(_:)``).
    public mutating func receive(
        _ message: CoAPMessage,
        at now: ContinuousClock.Instant,
        messageIDs: () -> UInt16
    ) -> [Action] {
        guard self.handles(message) else { return [] }
        self.now = now
        self.replies.removeAll { $0.time + Self.duplicateWindow < now }
        var out: [Action] = []
        if message.type == .confirmable, let cached = self.replies.first(where: { $0.id == message.messageID }) {
            return [.send(cached.reply)]
        }
        switch self.configuration.otaProtocol {
        case .legacy: self.legacyReceive(message, at: now, messageIDs: messageIDs, into: &out)
        case .v3: self.v3Receive(message, at: now, messageIDs: messageIDs, into: &out)
        }
        return self.close(out)
    }

    /// The deadline asked for has come.
    public mutating func timerFired(at now: ContinuousClock.Instant, messageIDs: () -> UInt16) -> [Action] {
        self.announced = nil
        var out: [Action] = []
        let due = self.deadlines.filter { $0.value <= now }.map(\.key)
        for kind in due { self.deadlines[kind] = nil }
        if due.contains(.acknowledgement) { self.v3AcknowledgeDue(at: now, messageIDs: messageIDs, into: &out) }
        if due.contains(.updateTimeout) { self.updateTimedOut(at: now, into: &out) }
        return self.close(out)
    }

    /// The connection ended. A legacy device forgets the transfer (the system may still consider
    /// it in progress); a v3 device cancels it but keeps the data for a resume.
    public mutating func connectionLost() {
        self.replies.removeAll()
        if self.legacy.updating {
            self.legacy.updating = false
            if !self.configuration.staleUpdateAfterDisconnect { self.legacy = LegacyState() }
        }
        if !self.legacy.systemUpdateInProgress { self.deadlines[.updateTimeout] = nil }
        if self.v3.updating || self.v3.finishResponseID != nil || self.v3.errorResponseID != nil {
            self.v3.cancel()
            self.deadlines[.updateTimeout] = nil
        }
        self.deadlines[.acknowledgement] = nil
    }

    /// Remembers the reply to a server CON, for its retransmissions.
    mutating func reply(_ reply: CoAPMessage, to request: CoAPMessage, into out: inout [Action]) {
        if request.type == .confirmable, let now = self.now {
            self.replies.append((request.messageID, reply, now))
            if self.replies.count > Self.maximumReplies { self.replies.removeFirst() }
        }
        out.append(.send(reply))
    }

    /// Records a received chunk message; returns `false` (and closes the connection) when the
    /// misbehaviour says to disconnect now.
    mutating func countChunk(into out: inout [Action]) -> Bool {
        self.chunksReceived += 1
        if let limit = self.misbehaviour.disconnectAfterChunks, self.chunksReceived >= limit {
            self.misbehaviour.disconnectAfterChunks = nil
            self.connectionLost()
            out.append(.disconnect("misbehaviour: disconnect after \(limit) chunks"))
            return false
        }
        return true
    }

    /// Applies the chunk misbehaviours to chunk `number`: `nil` if it is lost, else its data
    /// (corrupted if so asked).
    mutating func arriving(_ data: [UInt8], number: Int) -> [UInt8]? {
        if self.misbehaviour.dropAlways.contains(number) { return nil }
        if self.misbehaviour.dropOnce.remove(number) != nil { return nil }
        if self.misbehaviour.corruptOnce == number, !data.isEmpty {
            self.misbehaviour.corruptOnce = nil
            var data = data
            data[data.count / 2] ^= 0x5A
            return data
        }
        return data
    }

    private mutating func updateTimedOut(at now: ContinuousClock.Instant, into out: inout [Action]) {
        switch self.configuration.otaProtocol {
        case .legacy:
            guard self.legacy.systemUpdateInProgress else { return }
            // A Gen 2 device restarts when an update times out (`RESET_REASON_UPDATE_TIMEOUT`).
            self.legacy = LegacyState()
            self.replies.removeAll()
            out.append(.rejected("update timeout"))
            out.append(.restart("update timeout"))
        case .v3:
            guard self.v3.updating else { return }
            // `OTA_TRANSFER_TIMEOUT`: cancel and report a connection error.
            self.connectionLost()
            out.append(.rejected("update timeout"))
            out.append(.disconnect("OTA transfer timeout"))
        }
    }

    private mutating func close(_ actions: [Action]) -> [Action] {
        let earliest = self.deadlines.values.min()
        guard earliest != self.announced else { return actions }
        self.announced = earliest
        return actions + [.deadline(earliest)]
    }
}
