import CoAP

/// The server side of OTA protocol v3 (Device OS `communication/src/firmware_update.cpp`):
///
/// 1. CON POST `/S` UpdateStart with File-Size, File-Sha-256 (of the whole file: makes it
///    resumable), Chunk-Size and, after a failed resume, Discard-Data. The device ACKs, then
///    sends a CON 2.01 with Window-Size and File-Size = the bytes it kept from an interrupted
///    transfer of the same file; the transfer continues from there.
/// 2. NON POST `/C` UpdateChunk, no token, Chunk-Index 1-based from that offset; never more than
///    Window-Size chunks beyond the last contiguous one acknowledged.
/// 3. The device's NON POST `/A` UpdateAck: Chunk-Index = chunks received contiguously, payload a
///    bitmap of 32-bit little-endian words of the chunks received beyond them. Holes below a
///    received chunk are resent at once, everything unacknowledged after a quiet interval.
/// 4. CON POST `/F` UpdateFinish; the device validates the file and answers CON 2.04. ACKing
///    that 2.04 makes the device apply the update and restart.
///
/// A device that disconnects keeps what it received: on reconnect a new UpdateStart resumes.
struct V3Transfer: Sendable {
    enum Phase: Hashable, Sendable {
        case idle
        /// UpdateStart sent with this message ID.
        case starting(UInt16)
        /// Chunks going out, UpdateAcks coming in.
        case sending
        /// UpdateFinish sent with this message ID.
        case finishing(UInt16)
        /// UpdateFinish with Cancel-Update sent with this message ID.
        case cancelling(UInt16)
        /// Disconnected: waiting for the device to come back and resume.
        case waiting
        case done(TransferOutcome)
    }

    /// The receive window the device allocates (`OTA_RECEIVE_WINDOW_SIZE`), in bytes, used when
    /// its 2.01 carries no Window-Size (Device OS 3.0).
    static let receiveWindowBytes = 128 * 1024
    /// Chunk sizes the device accepts: 512 … `MAX_OTA_CHUNK_SIZE` (1136 on Gen 3 and Gen 4, from
    /// 1152-byte buffers), multiples of 4.
    static let chunkSizes = 512...1136
    /// Bytes of an UpdateChunk message besides the data: header 4, Uri-Path 2, Chunk-Index 5,
    /// payload marker 1.
    static let chunkOverhead = 12
    /// The most 32-bit words of an UpdateAck bitmap looked at: the device's bitmap covers its
    /// receive window (at most 256 chunks).
    static let maximumBitmapWords = 16

    let image: any FirmwareImage
    let size: Int
    let fileSHA256: [UInt8]
    let configuration: TransferConfiguration
    let chunkSize: Int

    var phase = Phase.idle
    var connection: TransferConnection?
    /// Bytes the device kept from before, where this attempt's chunk 1 starts.
    var offset = 0
    var windowSize = 1
    /// Chunks in this attempt: `ceil((size − offset) / chunkSize)`.
    var chunkCount = 0
    /// Acknowledged chunks of this attempt (bit `i − 1` for chunk `i`).
    var acknowledged = ChunkBitmap(count: 0)
    /// Chunks 1…cumulative are acknowledged.
    var cumulative = 0
    /// The next chunk never sent.
    var nextNew = 1
    /// Chunks to send again, in order, without duplicates.
    var resend: [Int] = []
    /// Holes already resent since the last quiet-interval resend (not resent again on every ack).
    var holesResent: Set<Int> = []
    var restartsWithoutProgress = 0
    /// The most bytes the device has ever held contiguously from the file's start. Only beating
    /// it counts as progress against the restart limit: chunks acknowledged again after a
    /// restart (the device keeps only the contiguous part) do not.
    var bestContiguous = 0
    var attempt = 1
    /// Send Discard-Data with the next UpdateStart (after a failed resume).
    var discardOnNextStart = false
    var integrityRetried = false
    var awaitingFlush = false
    var recentCONs = RecentMessageIDs(capacity: 16)
    /// Message IDs of recent chunks, to recognise the RST a device answers a bad chunk with.
    var recentChunks = RecentMessageIDs(capacity: 512)
    var deadlines = Deadlines()
    var reported: TransferProgress?

    init(image: any FirmwareImage, fileSHA256: [UInt8], device: DeviceProfile, configuration: TransferConfiguration) {
        self.image = image
        self.size = image.count
        self.fileSHA256 = fileSHA256
        self.configuration = configuration
        var chunk = configuration.chunkSize ?? device.otaChunkSize ?? Self.chunkSizes.lowerBound
        if let maximumMessage = device.maximumMessageSize { chunk = min(chunk, maximumMessage - Self.chunkOverhead) }
        chunk = min(max(chunk, Self.chunkSizes.lowerBound), Self.chunkSizes.upperBound)
        self.chunkSize = chunk / 4 * 4
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
        let chunks = self.outcome == .success ? self.chunkCount : self.acknowledged.setCount
        return TransferProgress(
            bytesDone: self.outcome == .success ? self.size : min(self.size, self.offset + chunks * self.chunkSize),
            totalBytes: self.size,
            chunksDone: chunks,
            chunkCount: self.chunkCount,
            attempt: self.attempt
        )
    }

    private var requestID: UInt16? {
        switch self.phase {
        case .starting(let id), .finishing(let id), .cancelling(let id): id
        default: nil
        }
    }

    func claims(_ message: CoAPMessage) -> Bool {
        if message.type == .confirmable, self.recentCONs.contains(message.messageID) { return true }
        guard self.isActive, let connection = self.connection else { return false }
        switch message.type {
        case .acknowledgement:
            return message.messageID == self.requestID
        case .reset:
            return message.messageID == self.requestID || self.recentChunks.contains(message.messageID)
        case .confirmable, .nonConfirmable:
            if message.code.isResponse { return message.token == [connection.token] }
            return message.code == .post && message.uriPath.first == "A"
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
            // The device refuses a File-Size of 0.
            self.finish(.failure("the file is empty"), into: &out)
        } else {
            self.sendStart(at: now, messageIDs: messageIDs, into: &out)
        }
        return self.close(out)
    }

    mutating func receive(_ message: CoAPMessage, at now: ContinuousClock.Instant, messageIDs: () -> UInt16)
        -> [TransferAction]
    {
        guard self.claims(message) else { return [] }
        var out: [TransferAction] = []
        if message.type == .confirmable {
            // ACK at once: ACKing the finish 2.04 is what makes the device apply the update, and a
            // retransmitted CON must be ACKed again (but not processed twice).
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
                self.response(message, at: now, messageIDs: messageIDs, into: &out)
            } else {
                self.updateAck(message, at: now, messageIDs: messageIDs, into: &out)
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
            case .resend:
                self.resendUnacknowledged(at: now, messageIDs: messageIDs, into: &out)
            case .stall:
                let quiet = LegacyTransfer.text(self.configuration.stallTimeout)
                self.restart(at: now, reason: "no progress for \(quiet)", messageIDs: messageIDs, into: &out)
            case .response:
                self.responseOverdue(into: &out)
            case .reconnect:
                let wait = LegacyTransfer.text(self.configuration.reconnectTimeout)
                self.finish(.failure("the device did not reconnect within \(wait)"), into: &out)
            case .retry:
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

    mutating func cancel(at now: ContinuousClock.Instant, messageIDs: () -> UInt16) -> [TransferAction] {
        var out: [TransferAction] = []
        switch self.phase {
        case .starting, .sending, .finishing:
            guard let connection = self.connection else { break }
            // Cancel-Update with Discard-Data: the device abandons the update and what it kept.
            let id = messageIDs()
            self.phase = .cancelling(id)
            self.awaitingFlush = false
            self.deadlines.removeAll()
            self.deadlines[.response] = now + self.configuration.responseTimeout(for: connection.transport)
            out.append(.send(Self.updateFinish(messageID: id, token: connection.token, cancel: true)))
            return self.close(out)
        case .cancelling, .done:
            return []
        case .idle, .waiting:
            break
        }
        self.finish(.failure("cancelled"), into: &out)
        return self.close(out)
    }

    mutating func disconnected(at now: ContinuousClock.Instant) -> [TransferAction] {
        guard self.isActive else { return [] }
        var out: [TransferAction] = []
        if case .cancelling = self.phase {
            self.finish(.failure("cancelled"), into: &out)
            return self.close(out)
        }
        self.connection = nil
        self.awaitingFlush = false
        self.phase = .waiting
        self.deadlines.removeAll(except: [.reconnect])
        if self.deadlines[.reconnect] == nil {
            self.deadlines[.reconnect] = now + self.configuration.reconnectTimeout
        }
        return self.close(out)
    }

    mutating func connected(_ connection: TransferConnection, at now: ContinuousClock.Instant, messageIDs: () -> UInt16)
        -> [TransferAction]
    {
        guard self.isActive else { return [] }
        var out: [TransferAction] = []
        self.connection = connection
        self.awaitingFlush = false
        self.recentCONs.removeAll()
        self.recentChunks.removeAll()
        if case .cancelling = self.phase {
            self.finish(.failure("cancelled"), into: &out)
            return self.close(out)
        }
        // The device kept what it had: UpdateStart resumes from there.
        self.restart(at: now, reason: "the device disconnected", messageIDs: messageIDs, into: &out)
        return self.close(out)
    }

    // MARK: Steps

    private mutating func sendStart(
        at now: ContinuousClock.Instant,
        messageIDs: () -> UInt16,
        into out: inout [TransferAction]
    ) {
        guard let connection = self.connection else { return }
        let id = messageIDs()
        self.phase = .starting(id)
        self.awaitingFlush = false
        self.deadlines.removeAll(except: [.reconnect])
        self.deadlines[.response] = now + self.configuration.responseTimeout(for: connection.transport)
        out.append(
            .send(
                Self.updateStart(
                    messageID: id,
                    token: connection.token,
                    fileSize: self.size,
                    fileSHA256: self.fileSHA256,
                    chunkSize: self.chunkSize,
                    discard: self.discardOnNextStart
                )
            )
        )
        self.discardOnNextStart = false
    }

    /// Starts the update again (it resumes where the device is), unless that has happened too
    /// often without progress.
    private mutating func restart(
        at now: ContinuousClock.Instant,
        reason: String,
        messageIDs: () -> UInt16,
        into out: inout [TransferAction]
    ) {
        self.restartsWithoutProgress += 1
        guard self.restartsWithoutProgress <= self.configuration.maximumRestarts else {
            self.finish(.failure("\(reason); gave up after \(self.configuration.maximumRestarts) restarts"), into: &out)
            return
        }
        self.attempt += 1
        if self.connection != nil {
            self.sendStart(at: now, messageIDs: messageIDs, into: &out)
        } else {
            self.phase = .waiting
        }
    }

    private mutating func answer(
        _ message: CoAPMessage,
        at now: ContinuousClock.Instant,
        messageIDs: () -> UInt16,
        into out: inout [TransferAction]
    ) {
        guard message.messageID == self.requestID else {
            // An RST for a chunk: the device found it invalid and cancelled the update (it
            // reports a connection error and reconnects).
            if message.type == .reset, case .sending = self.phase {
                self.restart(at: now, reason: "the device rejected a chunk (RST)", messageIDs: messageIDs, into: &out)
            }
            return
        }
        if message.type == .reset {
            if case .cancelling = self.phase {
                self.finish(.failure("cancelled"), into: &out)
            } else {
                self.restart(at: now, reason: "the device rejected a request (RST)", messageIDs: messageIDs, into: &out)
            }
        } else if message.code != .empty {
            self.response(message, at: now, messageIDs: messageIDs, into: &out)
        }
    }

    /// The answer to UpdateStart, UpdateFinish or a cancel, piggybacked or separate.
    private mutating func response(
        _ message: CoAPMessage,
        at now: ContinuousClock.Instant,
        messageIDs: () -> UInt16,
        into out: inout [TransferAction]
    ) {
        switch self.phase {
        case .starting:
            if message.code.codeClass == 2 {
                self.started(message, at: now, messageIDs: messageIDs, into: &out)
            } else {
                let error = DeviceError(payload: message.payload, coapCode: message.code.rawValue)
                self.finish(.failure("the device refused the update: \(error)"), into: &out)
            }
        case .finishing:
            if message.code.codeClass == 2 {
                // The ACK just sent (separate CON 2.04) makes the device apply the file.
                self.finish(.success, into: &out)
            } else {
                self.finishRefused(
                    DeviceError(payload: message.payload, coapCode: message.code.rawValue),
                    at: now,
                    messageIDs: messageIDs,
                    into: &out
                )
            }
        case .cancelling:
            self.finish(.failure("cancelled"), into: &out)
        default:
            break
        }
    }

    private mutating func started(
        _ message: CoAPMessage,
        at now: ContinuousClock.Instant,
        messageIDs: () -> UInt16,
        into out: inout [TransferAction]
    ) {
        let held = message.options.first { $0.number == .fileSize }?.uintValue ?? 0
        guard held <= self.size else {
            self.finish(.failure("the device reported holding \(held) bytes of a \(self.size)-byte file"), into: &out)
            return
        }
        let window = message.options.first { $0.number == .windowSize }?.uintValue.map(Int.init)
        self.offset = Int(held)
        self.windowSize = max(1, window ?? Self.receiveWindowBytes / self.chunkSize)
        self.chunkCount = (self.size - self.offset + self.chunkSize - 1) / self.chunkSize
        self.acknowledged = ChunkBitmap(count: self.chunkCount)
        self.cumulative = 0
        self.nextNew = 1
        self.resend = []
        self.holesResent = []
        self.phase = .sending
        self.deadlines.removeAll()
        self.noteContiguous(self.offset)
        self.reportProgress(into: &out)
        if self.chunkCount == 0 {
            self.sendFinish(at: now, messageIDs: messageIDs, into: &out)
            return
        }
        self.deadlines[.stall] = now + self.configuration.stallTimeout
        self.pump(at: now, messageIDs: messageIDs, into: &out)
    }

    /// The next burst: chunks to resend first, then new ones inside the window.
    private mutating func pump(
        at now: ContinuousClock.Instant,
        messageIDs: () -> UInt16,
        into out: inout [TransferAction]
    ) {
        guard case .sending = self.phase, let connection = self.connection, !self.awaitingFlush else { return }
        if let pacing = self.deadlines[.pacing], pacing > now { return }
        self.deadlines[.pacing] = nil
        var sent = 0
        while sent < max(1, self.configuration.burstSize) {
            let index: Int
            if !self.resend.isEmpty {
                index = self.resend.removeFirst()
                if self.acknowledged[index - 1] { continue }
            } else if self.nextNew <= self.chunkCount, self.nextNew <= self.cumulative + self.windowSize {
                index = self.nextNew
                self.nextNew += 1
            } else {
                break
            }
            let start = self.offset + (index - 1) * self.chunkSize
            let data: ArraySlice<UInt8>
            do {
                data = try self.image.bytes(in: start..<min(self.size, start + self.chunkSize))
            } catch {
                self.finish(.failure(error.description), into: &out)
                return
            }
            let id = messageIDs()
            self.recentChunks.insert(id)
            out.append(.send(Self.updateChunk(messageID: id, index: index, data: data)))
            sent += 1
        }
        guard sent > 0 else { return }
        if self.deadlines[.resend] == nil {
            self.deadlines[.resend] = now + self.resendInterval(connection.transport)
        }
        let more =
            !self.resend.isEmpty
            || (self.nextNew <= self.chunkCount && self.nextNew <= self.cumulative + self.windowSize)
        guard more else { return }
        self.awaitingFlush = true
        out.append(.flush)
        if connection.transport == .udp, self.configuration.udpBurstInterval > .zero {
            self.deadlines[.pacing] = now + self.configuration.udpBurstInterval
        }
    }

    private func resendInterval(_ transport: Transport) -> Duration {
        transport == .udp ? self.configuration.udpResendInterval : self.configuration.tcpResendInterval
    }

    /// UpdateAck: Chunk-Index = chunks received contiguously; payload bit `b` of little-endian
    /// word `w` = chunk `cumulative + 32w + b + 1` received.
    private mutating func updateAck(
        _ message: CoAPMessage,
        at now: ContinuousClock.Instant,
        messageIDs: () -> UInt16,
        into out: inout [TransferAction]
    ) {
        guard case .sending = self.phase, let connection = self.connection,
            let option = message.options.first(where: { $0.number == .chunkIndex }),
            let value = option.uintValue, Int(value) <= self.chunkCount
        else { return }
        let base = Int(value)
        var progressed = false
        if base > self.cumulative {
            for index in (self.cumulative + 1)...base where self.acknowledged.insert(index - 1) {
                progressed = true
            }
        }
        var highest = base
        let words = min(Self.maximumBitmapWords, (message.payload.count + 3) / 4)
        for word in 0..<words {
            var bits: UInt32 = 0
            for byte in 0..<4 where word * 4 + byte < message.payload.count {
                bits |= UInt32(message.payload[word * 4 + byte]) << (8 * UInt32(byte))
            }
            while bits != 0 {
                let bit = bits.trailingZeroBitCount
                bits &= bits - 1
                let index = base + 32 * word + bit + 1
                guard index <= self.chunkCount else { continue }
                if self.acknowledged.insert(index - 1) { progressed = true }
                highest = max(highest, index)
            }
        }
        let previousCumulative = self.cumulative
        while self.cumulative < self.chunkCount, self.acknowledged[self.cumulative] { self.cumulative += 1 }
        if self.cumulative > previousCumulative {
            // Stalled means the contiguous part stopped growing: a chunk that never gets through
            // holds it back however many others are acknowledged.
            self.deadlines[.stall] = now + self.configuration.stallTimeout
            self.noteContiguous(min(self.size, self.offset + self.cumulative * self.chunkSize))
        }
        if progressed {
            self.deadlines[.resend] =
                self.nextNew - 1 > self.cumulative ? now + self.resendInterval(connection.transport) : nil
            self.reportProgress(into: &out)
        }
        self.holesResent = self.holesResent.filter { $0 > self.cumulative }
        // A hole below a received chunk is most likely lost: resend it once now; the quiet
        // interval catches it if that is lost too.
        if highest > self.cumulative + 1 {
            for index in (self.cumulative + 1)..<highest
            where !self.acknowledged[index - 1] && index < self.nextNew && !self.holesResent.contains(index) {
                self.holesResent.insert(index)
                if !self.resend.contains(index) { self.resend.append(index) }
            }
        }
        if self.cumulative == self.chunkCount {
            self.sendFinish(at: now, messageIDs: messageIDs, into: &out)
        } else {
            self.pump(at: now, messageIDs: messageIDs, into: &out)
        }
    }

    /// Records that the device holds `bytes` contiguously; more than ever before resets the
    /// restart count.
    private mutating func noteContiguous(_ bytes: Int) {
        guard bytes > self.bestContiguous else { return }
        self.bestContiguous = bytes
        self.restartsWithoutProgress = 0
    }

    /// No UpdateAck made progress for a while: resend everything sent and unacknowledged.
    private mutating func resendUnacknowledged(
        at now: ContinuousClock.Instant,
        messageIDs: () -> UInt16,
        into out: inout [TransferAction]
    ) {
        guard case .sending = self.phase, let connection = self.connection else { return }
        for index in stride(from: self.cumulative + 1, to: self.nextNew, by: 1)
        where !self.acknowledged[index - 1] && !self.resend.contains(index) {
            self.resend.append(index)
            self.holesResent.insert(index)
        }
        if !self.resend.isEmpty {
            self.deadlines[.resend] = now + self.resendInterval(connection.transport)
        }
        self.pump(at: now, messageIDs: messageIDs, into: &out)
    }

    private mutating func sendFinish(
        at now: ContinuousClock.Instant,
        messageIDs: () -> UInt16,
        into out: inout [TransferAction]
    ) {
        guard let connection = self.connection else { return }
        let id = messageIDs()
        self.phase = .finishing(id)
        self.awaitingFlush = false
        self.resend = []
        self.deadlines.removeAll()
        self.deadlines[.response] = now + self.configuration.responseTimeout(for: connection.transport)
        out.append(.send(Self.updateFinish(messageID: id, token: connection.token, cancel: false)))
    }

    private mutating func finishRefused(
        _ error: DeviceError,
        at now: ContinuousClock.Instant,
        messageIDs: () -> UInt16,
        into out: inout [TransferAction]
    ) {
        let corrupt = error.code == DeviceError.integrityCheckFailed || error.code == DeviceError.resumedUpdateFailed
        if corrupt, !self.integrityRetried {
            // The data on the device is bad (a corrupted chunk, a bad resume): once, start over
            // from nothing.
            self.integrityRetried = true
            self.discardOnNextStart = true
            self.restart(
                at: now,
                reason: "the device found the received file corrupt: \(error)",
                messageIDs: messageIDs,
                into: &out
            )
        } else if error.code == DeviceError.protocolError || error.code == DeviceError.invalidState {
            // "Incomplete file transfer", or the device lost the update: resume.
            self.restart(
                at: now,
                reason: "the device did not accept UpdateFinish: \(error)",
                messageIDs: messageIDs,
                into: &out
            )
        } else {
            self.finish(.failure("the device refused the firmware: \(error)"), into: &out)
        }
    }

    private mutating func responseOverdue(into out: inout [TransferAction]) {
        let wait = LegacyTransfer.text(self.configuration.responseTimeout(for: self.connection?.transport ?? .tcp))
        switch self.phase {
        case .starting:
            self.finish(.failure("the device did not answer UpdateStart within \(wait)"), into: &out)
        case .finishing:
            self.finish(.failure("the device did not answer UpdateFinish within \(wait)"), into: &out)
        case .cancelling:
            self.finish(.failure("cancelled"), into: &out)
        default:
            break
        }
    }

    private mutating func finish(_ outcome: TransferOutcome, into out: inout [TransferAction]) {
        guard self.outcome == nil else { return }
        self.phase = .done(outcome)
        self.awaitingFlush = false
        self.resend = []
        self.holesResent = []
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

    private mutating func close(_ actions: [TransferAction]) -> [TransferAction] {
        var out = actions
        var tail: [TransferAction] = []
        if let last = out.last, case .finished = last { tail = [out.removeLast()] }
        self.deadlines.announce(into: &out)
        return out + tail
    }
}
