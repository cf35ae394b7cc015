import CoAP

/// The server side of the legacy transfer (Device OS `communication/src/chunked_transfer.cpp`),
/// over TCP or UDP:
///
/// 1. CON POST `/u` UpdateBegin (fast-OTA flag, chunk size, file size); the device ACKs and sends
///    UpdateReady (2.04 with the token; payload bit 0: fast OTA accepted), or answers ACK 5.03.
/// 2. Normal mode: one CON POST `/c` chunk at a time, each answered by ChunkReceived (2.04, or
///    4.00 for a bad CRC: send the same chunk again). Fast mode: NON chunks with their index,
///    streamed without answers.
/// 3. CON PUT `/u` UpdateDone: ACK 2.04 `{"r":N}` (the device restarts to apply the file), or
///    4.00 followed by ChunkMissed (GET `/c` with 2-byte indices): resend those and send
///    UpdateDone again, a bounded number of times.
///
/// A device that disconnects forgets the transfer: it starts again from zero when it is back.
struct LegacyTransfer: Sendable {
    enum Phase: Hashable, Sendable {
        case idle
        /// UpdateBegin sent with this message ID.
        case beginning(UInt16)
        /// Normal mode: chunk ``nextChunk`` sent as a CON with this message ID.
        case sendingChunk(UInt16)
        /// Fast mode: chunks going out in bursts (new ones, then missed ones).
        case streaming
        /// UpdateDone sent with this message ID.
        case finishing(UInt16)
        /// UpdateDone was answered 4.00: ChunkMissed is due.
        case awaitingMissed
        /// Disconnected, or (`busy`) refused after a restart: waiting to begin again.
        case waiting(busy: Bool)
        /// The connection ended while UpdateDone's answer was awaited: the device may have
        /// answered and restarted to apply the file (the answer lost), or not. Its next Describe
        /// tells.
        case confirming
        case done(TransferOutcome)
    }

    /// When the device's maximum message size is unknown (Hello of old firmware), assume a
    /// buffer of this size for the fast-OTA limit.
    static let assumedMaximumMessageSize = 640
    /// Bytes of a fast-OTA chunk message besides the data: header 4, token 1, Uri-Path 2, CRC
    /// option 5, index option 3, payload marker 1.
    static let chunkOverhead = 16
    /// The device's chunk size when it does not say (`HAL_OTA_ChunkSize`).
    static let defaultChunkSize = 512
    /// The device accepts fewer chunks than this (`MAX_CHUNKS`).
    static let maximumChunks = 0xFFFF

    let image: any FirmwareImage
    let size: Int
    let configuration: TransferConfiguration
    let chunkSize: Int
    let chunkCount: Int
    /// Whether UpdateBegin asks for fast OTA.
    let requestsFastOTA: Bool
    /// What is being sent, to recognise it in the device's Describe after an unconfirmed end.
    let expected: ValidatedFirmware?

    var phase = Phase.idle
    var connection: TransferConnection?
    /// Whether the device accepted fast OTA in UpdateReady.
    var fast = false
    /// Normal mode: the chunk in flight. Fast mode: the next chunk never sent.
    var nextChunk = 0
    /// Fast mode: chunks to send again, in order, without duplicates.
    var missed: [Int] = []
    /// Per chunk: CRC failures and ChunkMissed requests in this attempt.
    var retries: [UInt8]
    var missedRounds = 0
    var attempt = 1
    var awaitingFlush = false
    var recentCONs = RecentMessageIDs(capacity: 16)
    var deadlines = Deadlines()
    var reported: TransferProgress?

    init(
        image: any FirmwareImage,
        expected: ValidatedFirmware?,
        device: DeviceProfile,
        configuration: TransferConfiguration
    ) {
        self.image = image
        self.expected = expected
        self.size = image.count
        self.configuration = configuration
        let maximumMessage = device.maximumMessageSize ?? Self.assumedMaximumMessageSize
        let preferred = configuration.chunkSize ?? device.otaChunkSize ?? Self.defaultChunkSize
        // Every chunk message must fit the device's buffer.
        let chunk = max(4, min(preferred, maximumMessage - Self.chunkOverhead, Int(UInt16.max)))
        self.chunkSize = chunk
        self.chunkCount = (self.size + chunk - 1) / chunk
        self.retries = [UInt8](repeating: 0, count: self.chunkCount)
        // Fast OTA keeps a bitmap of received chunks at the end of the device's single message
        // buffer, which incoming chunks fill from the start (`chunked_transfer.cpp`): both must
        // fit.
        let bitmap = (self.chunkCount + 7) / 8
        self.requestsFastOTA = configuration.fastOTA && bitmap + chunk + Self.chunkOverhead <= maximumMessage
    }

    var isActive: Bool {
        switch self.phase {
        case .idle, .done: false
        default: true
        }
    }

    var outcome: TransferOutcome? {
        if case .done(let outcome) = self.phase { return outcome }
        return nil
    }

    var progress: TransferProgress {
        var chunks = min(self.nextChunk, self.chunkCount)
        if self.outcome == .success { chunks = self.chunkCount }
        return TransferProgress(
            bytesDone: min(self.size, chunks * self.chunkSize),
            totalBytes: self.size,
            chunksDone: chunks,
            chunkCount: self.chunkCount,
            attempt: self.attempt
        )
    }

    /// Whether UpdateDone went out and its answer is still unknown.
    private var awaitsFinalAnswer: Bool {
        switch self.phase {
        case .finishing, .confirming: true
        default: false
        }
    }

    /// The message ID of the request whose ACK is awaited.
    private var requestID: UInt16? {
        switch self.phase {
        case .beginning(let id), .sendingChunk(let id), .finishing(let id): id
        default: nil
        }
    }

    func claims(_ message: CoAPMessage) -> Bool {
        if message.type == .confirmable, self.recentCONs.contains(message.messageID) { return true }
        guard self.isActive, let connection = self.connection else { return false }
        switch message.type {
        case .acknowledgement, .reset:
            return message.messageID == self.requestID
        case .confirmable, .nonConfirmable:
            if message.code.isResponse { return message.token == [connection.token] }
            return message.code == .get && message.uriPath.first == "c"
        }
    }

    // MARK: Inputs

    mutating func start(on connection: TransferConnection, at now: ContinuousClock.Instant, messageIDs: () -> UInt16)
        -> [TransferAction]
    {
        guard case .idle = self.phase else { return [] }
        self.connection = connection
        var out: [TransferAction] = []
        if self.size == 0 {
            self.finish(.failure("the file is empty"), into: &out)
        } else if self.chunkCount >= Self.maximumChunks {
            // The device refuses `ceil(size / chunk) ≥ 65535` (`chunked_transfer.cpp`), and the
            // fast-OTA index is two bytes.
            self.finish(
                .failure(
                    "the file needs \(self.chunkCount) chunks, the legacy protocol at most \(Self.maximumChunks - 1)"
                ),
                into: &out
            )
        } else {
            self.begin(at: now, messageIDs: messageIDs, into: &out)
        }
        return self.close(out)
    }

    mutating func receive(_ message: CoAPMessage, at now: ContinuousClock.Instant, messageIDs: () -> UInt16)
        -> [TransferAction]
    {
        guard self.claims(message) else { return [] }
        var out: [TransferAction] = []
        if message.type == .confirmable {
            // ACK at once; a retransmission is ACKed again and not processed twice.
            out.append(.send(message.emptyAcknowledgement))
            if self.recentCONs.contains(message.messageID) { return out }
            self.recentCONs.insert(message.messageID)
        }
        guard self.isActive else { return self.close(out) }
        switch message.type {
        case .acknowledgement, .reset:
            self.answer(message, at: now, messageIDs: messageIDs, into: &out)
        case .confirmable, .nonConfirmable:
            if message.code.isResponse {
                self.response(code: message.code, payload: message.payload, at: now, messageIDs: messageIDs, into: &out)
            } else {
                self.chunksMissed(message.payload, at: now, messageIDs: messageIDs, into: &out)
            }
        }
        return self.close(out)
    }

    mutating func timerFired(at now: ContinuousClock.Instant, messageIDs: () -> UInt16) -> [TransferAction] {
        self.deadlines.timerConsumed()
        var out: [TransferAction] = []
        for kind in self.deadlines.takeDue(at: now) where self.isActive {
            switch kind {
            case .pacing:
                self.pump(at: now, messageIDs: messageIDs, into: &out)
            case .response:
                self.responseOverdue(at: now, messageIDs: messageIDs, into: &out)
            case .reconnect:
                self.finish(
                    .failure("the device did not reconnect within \(Self.text(self.configuration.reconnectTimeout))"),
                    into: &out
                )
            case .retry:
                if case .waiting(busy: true) = self.phase, self.connection != nil {
                    self.begin(at: now, messageIDs: messageIDs, into: &out)
                }
            case .resend, .stall:
                break
            }
        }
        return self.close(out)
    }

    mutating func flushed(at now: ContinuousClock.Instant, messageIDs: () -> UInt16) -> [TransferAction] {
        guard self.awaitingFlush else { return [] }
        self.awaitingFlush = false
        var out: [TransferAction] = []
        self.pump(at: now, messageIDs: messageIDs, into: &out)
        return self.close(out)
    }

    mutating func cancel(at now: ContinuousClock.Instant) -> [TransferAction] {
        guard self.isActive || self.phase == .idle else { return [] }
        var out: [TransferAction] = []
        // The legacy protocol has no cancel message: the device waits for chunks until its own
        // 300 s timeout restarts it.
        self.finish(.failure("cancelled"), into: &out)
        return self.close(out)
    }

    mutating func disconnected(at now: ContinuousClock.Instant) -> [TransferAction] {
        guard self.isActive else { return [] }
        if self.awaitsFinalAnswer {
            self.becomeUnconfirmed(at: now)
            return self.close([])
        }
        let out: [TransferAction] = []
        self.connection = nil
        self.awaitingFlush = false
        self.phase = .waiting(busy: false)
        self.deadlines.removeAll(except: [.reconnect])
        // Counted from the first disconnect since the device last accepted UpdateBegin.
        if self.deadlines[.reconnect] == nil {
            self.deadlines[.reconnect] = now + self.configuration.reconnectTimeout
        }
        return self.close(out)
    }

    mutating func connected(_ connection: TransferConnection, at now: ContinuousClock.Instant, messageIDs: () -> UInt16)
        -> [TransferAction]
    {
        guard self.isActive else { return [] }
        if case .finishing = self.phase {
            // A new connection without a disconnect first: as after a disconnect.
            self.becomeUnconfirmed(at: now)
        }
        if case .confirming = self.phase {
            self.connection = connection
            self.recentCONs.removeAll()
            self.deadlines.removeAll(except: [.reconnect])
            // Wait for the Describe the device sends (or is asked for) after its Hello.
            self.deadlines[.response] = now + self.configuration.responseTimeout(for: connection.transport)
            return self.close([])
        }
        var out: [TransferAction] = []
        self.connection = connection
        self.awaitingFlush = false
        self.recentCONs.removeAll()
        // The device forgot the transfer with its connection: from zero.
        self.attempt += 1
        guard self.attempt <= self.configuration.maximumRestarts + 1 else {
            self.finish(.failure("the device disconnected \(self.attempt - 1) times during the transfer"), into: &out)
            return self.close(out)
        }
        self.begin(at: now, messageIDs: messageIDs, into: &out)
        return self.close(out)
    }

    mutating func described(_ modules: [InstalledModule], at now: ContinuousClock.Instant, messageIDs: () -> UInt16)
        -> [TransferAction]
    {
        guard case .confirming = self.phase, self.connection != nil else { return [] }
        var out: [TransferAction] = []
        let verdict = self.expected.map { UpdateVerification(sent: $0, described: modules) }
        switch verdict {
        case .applied?, .safeMode?, .unknown?:
            // It runs the new file (safe mode is for the gateway to report), or cannot tell,
            // which only firmware without module hashes does: count it as taken.
            self.nextChunk = self.chunkCount
            self.finish(.success, into: &out)
        case .notApplied?, nil:
            self.restartAfterUnconfirmed(at: now, messageIDs: messageIDs, into: &out)
        }
        return self.close(out)
    }

    /// The connection ended with every chunk and UpdateDone sent: the device may have answered
    /// and restarted at once to apply the file, the answer lost (UDP), or it may have gone
    /// before. Its Describe on the next connection tells; starting over blindly would flash the
    /// file twice.
    private mutating func becomeUnconfirmed(at now: ContinuousClock.Instant) {
        self.connection = nil
        self.awaitingFlush = false
        self.phase = .confirming
        self.deadlines.removeAll(except: [.reconnect])
        if self.deadlines[.reconnect] == nil {
            self.deadlines[.reconnect] = now + self.configuration.reconnectTimeout
        }
    }

    private mutating func restartAfterUnconfirmed(
        at now: ContinuousClock.Instant,
        messageIDs: () -> UInt16,
        into out: inout [TransferAction]
    ) {
        self.attempt += 1
        guard self.attempt <= self.configuration.maximumRestarts + 1 else {
            self.finish(.failure("the device disconnected \(self.attempt - 1) times during the transfer"), into: &out)
            return
        }
        self.begin(at: now, messageIDs: messageIDs, into: &out)
    }

    // MARK: Steps

    private mutating func begin(
        at now: ContinuousClock.Instant,
        messageIDs: () -> UInt16,
        into out: inout [TransferAction]
    ) {
        guard let connection = self.connection else { return }
        let id = messageIDs()
        self.phase = .beginning(id)
        self.fast = false
        self.nextChunk = 0
        self.missed = []
        self.missedRounds = 0
        self.retries = [UInt8](repeating: 0, count: self.chunkCount)
        self.deadlines.removeAll(except: [.reconnect])
        self.deadlines[.response] = now + self.configuration.responseTimeout(for: connection.transport)
        out.append(
            .send(
                Self.updateBegin(
                    messageID: id,
                    token: connection.token,
                    fast: self.requestsFastOTA,
                    chunkSize: self.chunkSize,
                    fileSize: self.size
                )
            )
        )
        self.reportProgress(into: &out)
    }

    /// An ACK or RST of the request in flight.
    private mutating func answer(
        _ message: CoAPMessage,
        at now: ContinuousClock.Instant,
        messageIDs: () -> UInt16,
        into out: inout [TransferAction]
    ) {
        let request: String
        switch self.phase {
        case .beginning: request = "UpdateBegin"
        case .sendingChunk: request = "chunk \(self.nextChunk)"
        case .finishing: request = "UpdateDone"
        default: return
        }
        if message.type == .reset {
            self.finish(.failure("the device rejected \(request) (RST)"), into: &out)
        } else if message.code != .empty {
            // Piggybacked on the ACK: the answer itself.
            self.response(code: message.code, payload: message.payload, at: now, messageIDs: messageIDs, into: &out)
        }
        // An empty ACK: the answer follows separately.
    }

    /// The device's answer to the request in flight, piggybacked or separate.
    private mutating func response(
        code: CoAPCode,
        payload: [UInt8],
        at now: ContinuousClock.Instant,
        messageIDs: () -> UInt16,
        into out: inout [TransferAction]
    ) {
        switch self.phase {
        case .beginning:
            guard code.codeClass == 2 else {
                self.refused(code, at: now, into: &out)
                return
            }
            self.updateReady(
                fast: payload.first.map { $0 & 0x01 != 0 } ?? false,
                at: now,
                messageIDs: messageIDs,
                into: &out
            )
        case .sendingChunk:
            if code == .changed {
                self.nextChunk += 1
                self.reportProgress(into: &out)
                if self.nextChunk == self.chunkCount {
                    self.sendDone(at: now, messageIDs: messageIDs, into: &out)
                } else {
                    self.sendChunk(at: now, messageIDs: messageIDs, into: &out)
                }
            } else if code == .badRequest {
                // Bad CRC on the device: the same chunk again (under a new message ID, as asked).
                guard self.countRetry(of: self.nextChunk, into: &out) else { return }
                self.sendChunk(at: now, messageIDs: messageIDs, into: &out)
            } else {
                self.finish(.failure("the device answered chunk \(self.nextChunk) with \(code)"), into: &out)
            }
        case .finishing, .awaitingMissed:
            self.doneAnswered(code: code, payload: payload, at: now, messageIDs: messageIDs, into: &out)
        default:
            break
        }
    }

    /// UpdateBegin was refused (5.03: updates disabled, an update still in progress, too large).
    private mutating func refused(_ code: CoAPCode, at now: ContinuousClock.Instant, into out: inout [TransferAction]) {
        guard self.attempt > 1, let reconnect = self.deadlines[.reconnect], now < reconnect else {
            self.finish(
                .failure(
                    "the device refused the update (\(code)): updates disabled, another update in progress, "
                        + "or the file too large for it"
                ),
                into: &out
            )
            return
        }
        // After a disconnect the device may still consider the old update in progress until its
        // 300 s update timeout restarts it: ask again now and then, until it comes back.
        self.phase = .waiting(busy: true)
        self.deadlines[.response] = nil
        self.deadlines[.retry] = now + self.configuration.busyRetryInterval
    }

    private mutating func updateReady(
        fast: Bool,
        at now: ContinuousClock.Instant,
        messageIDs: () -> UInt16,
        into out: inout [TransferAction]
    ) {
        // Follow the device, whatever was asked: an application can force fast OTA on or off.
        self.fast = fast
        self.deadlines[.reconnect] = nil
        if fast {
            self.phase = .streaming
            self.pump(at: now, messageIDs: messageIDs, into: &out)
        } else {
            self.sendChunk(at: now, messageIDs: messageIDs, into: &out)
        }
    }

    /// Normal mode: chunk ``nextChunk`` as a CON.
    private mutating func sendChunk(
        at now: ContinuousClock.Instant,
        messageIDs: () -> UInt16,
        into out: inout [TransferAction]
    ) {
        guard let connection = self.connection, let data = self.data(of: self.nextChunk, into: &out) else { return }
        let id = messageIDs()
        self.phase = .sendingChunk(id)
        self.deadlines[.response] = now + self.configuration.responseTimeout(for: connection.transport)
        out.append(.send(Self.chunk(messageID: id, token: connection.token, data: data, index: nil)))
    }

    /// Fast mode: the next burst of NON chunks, missed ones first; UpdateDone after the last.
    private mutating func pump(
        at now: ContinuousClock.Instant,
        messageIDs: () -> UInt16,
        into out: inout [TransferAction]
    ) {
        guard case .streaming = self.phase, let connection = self.connection, !self.awaitingFlush else { return }
        if let pacing = self.deadlines[.pacing], pacing > now { return }
        self.deadlines[.pacing] = nil
        var sent = 0
        while sent < max(1, self.configuration.burstSize) {
            let index: Int
            if !self.missed.isEmpty {
                index = self.missed.removeFirst()
            } else if self.nextChunk < self.chunkCount {
                index = self.nextChunk
                self.nextChunk += 1
            } else {
                break
            }
            guard let data = self.data(of: index, into: &out) else { return }
            out.append(
                .send(
                    Self.chunk(
                        messageID: messageIDs(),
                        token: connection.token,
                        data: data,
                        index: UInt16(truncatingIfNeeded: index)
                    )
                )
            )
            sent += 1
        }
        self.reportProgress(into: &out)
        if self.missed.isEmpty, self.nextChunk == self.chunkCount {
            self.sendDone(at: now, messageIDs: messageIDs, into: &out)
            return
        }
        self.awaitingFlush = true
        out.append(.flush)
        // A connection that takes nothing for this long is as good as gone.
        self.deadlines[.response] = now + self.configuration.responseTimeout(for: connection.transport)
        if connection.transport == .udp, self.configuration.udpBurstInterval > .zero {
            self.deadlines[.pacing] = now + self.configuration.udpBurstInterval
        }
    }

    private mutating func sendDone(
        at now: ContinuousClock.Instant,
        messageIDs: () -> UInt16,
        into out: inout [TransferAction]
    ) {
        guard let connection = self.connection else { return }
        let id = messageIDs()
        self.phase = .finishing(id)
        self.deadlines[.pacing] = nil
        self.deadlines[.response] = now + self.configuration.responseTimeout(for: connection.transport)
        out.append(.send(Self.updateDone(messageID: id, token: connection.token)))
    }

    private mutating func doneAnswered(
        code: CoAPCode,
        payload: [UInt8],
        at now: ContinuousClock.Instant,
        messageIDs: () -> UInt16,
        into out: inout [TransferAction]
    ) {
        if code.codeClass == 2 {
            // `{"r":N}`: the device's validation result (`formatOtaUpdateStatusEventData`). It
            // restarts regardless; only 0 means the file is good.
            let result = Self.updateResult(payload)
            if let result, result != 0 {
                let error = DeviceError(code: result, coapCode: code.rawValue)
                self.finish(.failure("the device found the firmware invalid: \(error)"), into: &out)
            } else {
                self.nextChunk = self.chunkCount
                self.finish(.success, into: &out)
            }
        } else if code == .badRequest {
            // Chunks are missing; ChunkMissed lists some of them (it may have come first).
            self.missedRounds += 1
            let limit = self.configuration.maximumMissedRounds ?? self.chunkCount / 10 + 10
            guard self.missedRounds <= limit else {
                self.finish(.failure("the device still missed chunks after \(limit) rounds of resending"), into: &out)
                return
            }
            if self.missed.isEmpty {
                self.phase = .awaitingMissed
                if let connection = self.connection {
                    self.deadlines[.response] = now + self.configuration.responseTimeout(for: connection.transport)
                }
            } else {
                self.phase = .streaming
                self.pump(at: now, messageIDs: messageIDs, into: &out)
            }
        } else {
            self.finish(.failure("the device answered UpdateDone with \(code)"), into: &out)
        }
    }

    /// ChunkMissed: `GET /c` with 2-byte big-endian chunk indices.
    private mutating func chunksMissed(
        _ payload: [UInt8],
        at now: ContinuousClock.Instant,
        messageIDs: () -> UInt16,
        into out: inout [TransferAction]
    ) {
        guard self.fast else { return }
        for pair in stride(from: 0, to: payload.count - 1, by: 2) {
            let index = Int(payload[pair]) << 8 | Int(payload[pair + 1])
            guard index < self.chunkCount, !self.missed.contains(index) else { continue }
            guard self.countRetry(of: index, into: &out) else { return }
            self.missed.append(index)
        }
        if case .awaitingMissed = self.phase, !self.missed.isEmpty {
            self.phase = .streaming
            self.pump(at: now, messageIDs: messageIDs, into: &out)
        }
    }

    /// Counts one more resend of `index`; fails the transfer past the limit.
    private mutating func countRetry(of index: Int, into out: inout [TransferAction]) -> Bool {
        self.retries[index] &+= 1
        guard Int(self.retries[index]) <= self.configuration.maximumChunkRetries else {
            self.finish(
                .failure(
                    "the device asked for chunk \(index) \(self.retries[index]) times "
                        + "(bad CRC or missed); giving up"
                ),
                into: &out
            )
            return false
        }
        return true
    }

    private mutating func responseOverdue(
        at now: ContinuousClock.Instant,
        messageIDs: () -> UInt16,
        into out: inout [TransferAction]
    ) {
        let wait = Self.text(self.configuration.responseTimeout(for: self.connection?.transport ?? .tcp))
        switch self.phase {
        case .beginning:
            self.finish(.failure("the device did not answer UpdateBegin within \(wait)"), into: &out)
        case .sendingChunk:
            self.finish(.failure("the device did not acknowledge chunk \(self.nextChunk) within \(wait)"), into: &out)
        case .streaming:
            self.finish(.failure("the connection took no data for \(wait)"), into: &out)
        case .finishing:
            self.finish(.failure("the device did not answer UpdateDone within \(wait)"), into: &out)
        case .awaitingMissed:
            // No ChunkMissed after the 4.00: UpdateDone again brings a fresh 4.00 and list.
            self.sendDone(at: now, messageIDs: messageIDs, into: &out)
        case .confirming:
            // No Describe came: start over, to be sure.
            self.restartAfterUnconfirmed(at: now, messageIDs: messageIDs, into: &out)
        default:
            break
        }
    }

    private mutating func data(of index: Int, into out: inout [TransferAction]) -> ArraySlice<UInt8>? {
        let start = index * self.chunkSize
        do {
            return try self.image.bytes(in: start..<min(self.size, start + self.chunkSize))
        } catch {
            self.finish(.failure(error.description), into: &out)
            return nil
        }
    }

    private mutating func finish(_ outcome: TransferOutcome, into out: inout [TransferAction]) {
        guard self.outcome == nil else { return }
        self.phase = .done(outcome)
        self.awaitingFlush = false
        self.deadlines.removeAll()
        self.reportProgress(into: &out)
        out.append(.finished(outcome))
    }

    private mutating func reportProgress(into out: inout [TransferAction]) {
        let progress = self.progress
        guard progress != self.reported else { return }
        self.reported = progress
        out.append(.progress(progress))
    }

    /// Adds the deadline change, keeping ``TransferAction/finished(_:)`` last.
    private mutating func close(_ actions: [TransferAction]) -> [TransferAction] {
        var out = actions
        var tail: [TransferAction] = []
        if let last = out.last, case .finished = last { tail = [out.removeLast()] }
        self.deadlines.announce(into: &out)
        return out + tail
    }

    static func text(_ duration: Duration) -> String {
        let seconds = duration.components.seconds
        return seconds >= 120 && seconds % 60 == 0 ? "\(seconds / 60) minutes" : "\(seconds) s"
    }
}
