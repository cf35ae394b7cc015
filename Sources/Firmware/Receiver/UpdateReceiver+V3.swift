import CoAP
import Crypto

/// The OTA v3 device (Device OS `communication/src/firmware_update.cpp` for the protocol,
/// `system/src/firmware_update.cpp` for the resumable state).
extension UpdateReceiver {
    struct V3State: Sendable {
        /// What survives a disconnect: the file's identity and how many bytes from its start are
        /// received (`PersistentTransferState`), with the bytes themselves in ``image``.
        struct Persisted: Hashable, Sendable {
            var fileHash: [UInt8]
            var fileSize: Int
            var partialSize: Int
        }

        var updating = false
        var fileSize = 0
        var chunkSize = 0
        var fileHash: [UInt8]?
        /// Bytes received contiguously from the file's start.
        var fileOffset = 0
        /// Bytes this transfer carries (file size minus the resume offset).
        var transferSize = 0
        var chunkCount = 0
        var windowSize = 0
        /// Chunks received contiguously in this transfer.
        var chunkIndex = 0
        /// Chunks received beyond `chunkIndex`, bit `i` = chunk `chunkIndex + i + 1`.
        var window: [UInt32] = []
        var unacknowledged = 0
        var hasGaps = false
        /// Whether the last chunk stored was a duplicate, and whether it changed ``hasGaps``.
        var duplicateFlag = false
        var gapsChanged = false
        var lastChunk: ContinuousClock.Instant?
        var image: [UInt8] = []
        var persisted: Persisted?
        /// The 2.04 answering UpdateFinish: when the server ACKs it, the update is applied.
        var finishResponseID: UInt16?
        /// A separate error response: when the server ACKs it, the device closes the connection.
        var errorResponseID: UInt16?
        var receivedChunks = 0
        var duplicateChunks = 0
        var outOfOrderChunks = 0
        var sentAcknowledgements = 0

        /// Abandons the transfer (`FirmwareUpdate::cancelUpdate`); the persisted part stays.
        mutating func cancel() {
            self.updating = false
            self.finishResponseID = nil
            self.errorResponseID = nil
            self.window = []
            self.unacknowledged = 0
        }
    }

    mutating func v3Receive(
        _ message: CoAPMessage,
        at now: ContinuousClock.Instant,
        messageIDs: () -> UInt16,
        into out: inout [Action]
    ) {
        switch message.type {
        case .acknowledgement, .reset:
            self.v3Answer(message, into: &out)
            return
        case .confirmable, .nonConfirmable:
            break
        }
        switch message.uriPath.first {
        case "S": self.updateStart(message, at: now, messageIDs: messageIDs, into: &out)
        case "C": self.updateChunk(message, at: now, messageIDs: messageIDs, into: &out)
        case "F": self.updateFinish(message, messageIDs: messageIDs, into: &out)
        default: break
        }
    }

    /// The server ACKed the finish response (apply) or an error response (close).
    private mutating func v3Answer(_ message: CoAPMessage, into out: inout [Action]) {
        if message.messageID == self.v3.errorResponseID {
            self.connectionLost()
            out.append(.disconnect("OTA update error"))
            return
        }
        guard message.messageID == self.v3.finishResponseID, message.type == .acknowledgement else { return }
        self.v3.finishResponseID = nil
        self.v3.updating = false
        self.deadlines[.updateTimeout] = nil
        self.deadlines[.acknowledgement] = nil
        // `finalizeTransferState`: the received data must hash to the File-Sha-256 given.
        if let hash = self.v3.fileHash, Array(SHA256.hash(data: self.v3.image)) != hash {
            self.v3.persisted = nil
            out.append(.rejected("Integrity check of a resumed update has failed (-1331)"))
            return
        }
        // Checked before the state is reset, not from a copy taken before it: an optimized build
        // used `let image = self.v3.image` after `self.v3 = V3State()` had freed it
        // (AddressSanitizer: heap-use-after-free in FirmwareModule.modules; `aerosol bench ota
        // --ota-protocol v3` crashed at 100 devices).
        let outcome = self.check(self.v3.image)
        self.v3 = V3State()
        switch outcome {
        case .success(let firmware):
            out.append(.applied(firmware))
            out.append(.restart("update"))
        case .failure(let failure):
            out.append(.rejected("\(failure.message) (\(failure.code))"))
        }
    }

    /// An error for a request: a piggybacked ACK for a CON before it was ACKed, else a separate
    /// response with the token (CON or NON like the request), else an RST.
    private mutating func fail(
        _ failure: ReceiverFailure,
        to message: CoAPMessage,
        acknowledged: Bool,
        messageIDs: () -> UInt16,
        into out: inout [Action]
    ) {
        // `coapCodeForSystemError`: every code used here (−210, −240, −13xx) maps to 5.03.
        if message.type == .confirmable, !acknowledged {
            self.reply(
                message.acknowledgement(code: .serviceUnavailable, payload: failure.payload),
                to: message,
                into: &out
            )
        } else if !message.token.isEmpty {
            let id = messageIDs()
            out.append(
                .send(
                    CoAPMessage(
                        type: message.type,
                        code: .serviceUnavailable,
                        messageID: id,
                        token: message.token,
                        payload: failure.payload
                    )
                )
            )
            if message.type == .confirmable { self.v3.errorResponseID = id }
        } else {
            out.append(.send(message.reset))
        }
    }

    private mutating func updateStart(
        _ message: CoAPMessage,
        at now: ContinuousClock.Instant,
        messageIDs: () -> UInt16,
        into out: inout [Action]
    ) {
        var fileSize: Int?
        var hash: [UInt8]?
        var chunkSize: Int?
        var discard = false
        var invalid: String?
        if message.type != .confirmable { invalid = "Invalid message type" }
        if message.token.isEmpty { invalid = invalid ?? "Invalid token size" }
        for option in message.options {
            switch option.number {
            case .fileSize:
                let size = Int(option.uintValue ?? 0)
                if size == 0 { invalid = invalid ?? "Invalid file size: \(size)" }
                fileSize = size
            case .fileSHA256:
                if option.value.count != 32 { invalid = invalid ?? "Invalid option size" }
                hash = option.value
            case .chunkSize:
                let size = Int(option.uintValue ?? 0)
                if size < 512 || size > self.configuration.maximumChunkSize || size % 4 != 0 {
                    invalid = invalid ?? "Invalid chunk size: \(size)"
                }
                chunkSize = size
            case .discardData:
                if !option.value.isEmpty { invalid = invalid ?? "Invalid option size" }
                discard = true
            default:
                break
            }
        }
        guard invalid == nil, let fileSize, let chunkSize else {
            let failure = ReceiverFailure(code: -240, message: invalid ?? "Invalid message options")
            self.fail(failure, to: message, acknowledged: false, messageIDs: messageIDs, into: &out)
            return
        }
        self.reply(message.emptyAcknowledgement, to: message, into: &out)
        // A new UpdateStart resets and restarts a running update.
        self.v3.cancel()
        if self.misbehaviour.refuse || fileSize > self.configuration.maximumBinarySize {
            let failure =
                self.misbehaviour.refuse
                ? ReceiverFailure(code: -1380, message: "Firmware updates are disabled")
                : ReceiverFailure(code: -1351, message: "Invalid size")
            self.fail(failure, to: message, acknowledged: true, messageIDs: messageIDs, into: &out)
            return
        }
        var offset = 0
        if let hash, !discard, let persisted = self.v3.persisted, persisted.fileHash == hash,
            persisted.fileSize == fileSize, persisted.partialSize <= fileSize, self.v3.image.count == fileSize
        {
            offset = persisted.partialSize
        } else {
            self.v3.persisted = hash.map { V3State.Persisted(fileHash: $0, fileSize: fileSize, partialSize: 0) }
            self.v3.image = [UInt8](repeating: 0xFF, count: fileSize)
        }
        let image = self.v3.image
        let persisted = self.v3.persisted
        self.v3 = V3State()
        self.v3.image = image
        self.v3.persisted = persisted
        self.v3.updating = true
        self.v3.fileSize = fileSize
        self.v3.chunkSize = chunkSize
        self.v3.fileHash = hash
        self.v3.fileOffset = offset
        self.v3.transferSize = fileSize - offset
        self.v3.chunkCount = (fileSize - offset + chunkSize - 1) / chunkSize
        self.v3.windowSize = self.configuration.receiveWindowBytes / chunkSize
        self.v3.window = [UInt32](repeating: 0, count: (self.v3.windowSize + 31) / 32)
        self.v3.lastChunk = now
        self.deadlines[.updateTimeout] = now + self.configuration.updateTimeout
        // A separate CON 2.01: Window-Size, then File-Size = the bytes kept (empty when 0).
        var created = CoAPMessage(type: .confirmable, code: .created, messageID: messageIDs(), token: message.token)
        created.options.append(CoAPOption(.windowSize, uint: UInt32(self.v3.windowSize)))
        created.options.append(CoAPOption(.fileSize, uint: UInt32(offset)))
        out.append(.send(created))
    }

    private mutating func updateChunk(
        _ message: CoAPMessage,
        at now: ContinuousClock.Instant,
        messageIDs: () -> UInt16,
        into out: inout [Action]
    ) {
        var acknowledged = false
        if message.type == .confirmable {
            // Every confirmable request of the protocol has a token.
            guard !message.token.isEmpty else {
                let failure = ReceiverFailure(code: -240, message: "Message token is missing")
                self.fail(failure, to: message, acknowledged: false, messageIDs: messageIDs, into: &out)
                return
            }
        }
        let index = message.options.first { $0.number == .chunkIndex }?.uintValue.map(Int.init)
        var invalid: String?
        if message.type != .nonConfirmable { invalid = "Invalid message type" }
        if !message.token.isEmpty { invalid = invalid ?? "Invalid token size" }
        if message.payload.isEmpty { invalid = invalid ?? "Invalid payload size" }
        if index == nil { invalid = invalid ?? "Invalid message options" }
        if let invalid, message.type == .confirmable {
            // A CON chunk is answered on its ACK; not fatal.
            let failure = ReceiverFailure(code: -240, message: invalid)
            self.fail(failure, to: message, acknowledged: false, messageIDs: messageIDs, into: &out)
            return
        }
        if message.type == .confirmable {
            self.reply(message.emptyAcknowledgement, to: message, into: &out)
            acknowledged = true
        }
        guard let index, invalid == nil else {
            self.chunkRefused(
                ReceiverFailure(code: -240, message: invalid ?? ""),
                message,
                acknowledged,
                messageIDs,
                &out
            )
            return
        }
        guard self.v3.updating else {
            // Not fatal: there is nothing to cancel.
            self.fail(
                ReceiverFailure(code: -210, message: "No update in progress"),
                to: message,
                acknowledged: acknowledged,
                messageIDs: messageIDs,
                into: &out
            )
            return
        }
        guard self.countChunk(into: &out) else { return }
        let number = (self.v3.fileSize - self.v3.transferSize + (index - 1) * self.v3.chunkSize) / self.v3.chunkSize
        guard let data = self.arriving(message.payload, number: number) else { return }
        self.v3.receivedChunks += 1
        guard index >= 1, index <= self.v3.chunkCount else {
            self.chunkRefused(
                ReceiverFailure(code: -240, message: "Invalid chunk index: \(index)"),
                message,
                acknowledged,
                messageIDs,
                &out
            )
            return
        }
        let lastSize = self.v3.transferSize - (self.v3.chunkCount - 1) * self.v3.chunkSize
        guard data.count == (index < self.v3.chunkCount ? self.v3.chunkSize : lastSize) else {
            self.chunkRefused(
                ReceiverFailure(code: -240, message: "Invalid chunk size: \(data.count)"),
                message,
                acknowledged,
                messageIDs,
                &out
            )
            return
        }
        self.store(index: index, data: data)
        let finished = self.v3.chunkIndex == self.v3.chunkCount
        let due =
            self.v3.duplicateFlag || self.v3.hasGaps || self.v3.gapsChanged || finished
            || self.v3.unacknowledged >= self.configuration.chunksPerAcknowledgement
            || (self.v3.lastChunk.map { $0 + self.configuration.acknowledgementDelay <= now } ?? false)
        self.v3.lastChunk = now
        self.deadlines[.updateTimeout] = now + self.configuration.updateTimeout
        if due {
            self.sendAcknowledgement(messageIDs: messageIDs, into: &out)
        } else {
            self.deadlines[.acknowledgement] = now + self.configuration.acknowledgementDelay
        }
    }

    /// An invalid chunk: an error response (or an RST without a token), then the update is
    /// cancelled and the device reports a connection error, unless the chunk was a CON.
    private mutating func chunkRefused(
        _ failure: ReceiverFailure,
        _ message: CoAPMessage,
        _ acknowledged: Bool,
        _ messageIDs: () -> UInt16,
        _ out: inout [Action]
    ) {
        self.fail(failure, to: message, acknowledged: acknowledged, messageIDs: messageIDs, into: &out)
        guard message.type != .confirmable else { return }
        self.connectionLost()
        out.append(.disconnect("\(failure.message) (\(failure.code))"))
    }

    /// Records chunk `index` in the window and the file; slides the window over what is
    /// contiguous.
    private mutating func store(index: Int, data: [UInt8]) {
        self.v3.duplicateFlag = false
        let previousGaps = self.v3.hasGaps
        defer {
            self.v3.hasGaps = self.v3.window.contains { $0 != 0 }
            self.v3.gapsChanged = self.v3.hasGaps != previousGaps
            self.v3.unacknowledged += 1
        }
        if index <= self.v3.chunkIndex {
            self.v3.duplicateFlag = true
            self.v3.duplicateChunks += 1
            return
        }
        // Beyond the window: dropped, but counted and acknowledged.
        guard index <= self.v3.chunkIndex + self.v3.windowSize else { return }
        let relative = index - self.v3.chunkIndex - 1
        let bit = UInt32(1) << UInt32(relative % 32)
        guard self.v3.window[relative / 32] & bit == 0 else {
            self.v3.duplicateFlag = true
            self.v3.duplicateChunks += 1
            return
        }
        self.v3.window[relative / 32] |= bit
        if relative > 0 { self.v3.outOfOrderChunks += 1 }
        let offset = self.v3.fileSize - self.v3.transferSize + (index - 1) * self.v3.chunkSize
        self.v3.image.replaceSubrange(offset..<(offset + data.count), with: data)
        // Slide: every leading set bit is a chunk now contiguous.
        while self.v3.window.first.map({ $0 & 1 == 1 }) ?? false {
            for word in self.v3.window.indices {
                self.v3.window[word] >>= 1
                if word + 1 < self.v3.window.count { self.v3.window[word] |= (self.v3.window[word + 1] & 1) << 31 }
            }
            self.v3.chunkIndex += 1
            self.v3.fileOffset = min(self.v3.fileSize, self.v3.fileOffset + self.v3.chunkSize)
        }
        self.v3.persisted?.partialSize = self.v3.fileOffset
    }

    /// UpdateAck: NON POST `/A`, Chunk-Index = contiguous chunks (empty when 0), payload the
    /// window bitmap as little-endian 32-bit words, trimmed after the last non-zero word.
    private mutating func sendAcknowledgement(messageIDs: () -> UInt16, into out: inout [Action]) {
        let words = self.v3.window.lastIndex { $0 != 0 }.map { Array(self.v3.window[...$0]) } ?? []
        var payload: [UInt8] = []
        for word in words { payload += (0..<4).map { UInt8(truncatingIfNeeded: word >> (8 * UInt32($0))) } }
        var ack = CoAPMessage(type: .nonConfirmable, code: .post, messageID: messageIDs(), payload: payload)
        ack.appendPath("A")
        ack.options.append(CoAPOption(.chunkIndex, uint: UInt32(self.v3.chunkIndex)))
        out.append(.send(ack))
        self.v3.unacknowledged = 0
        self.v3.sentAcknowledgements += 1
        self.deadlines[.acknowledgement] = nil
    }

    mutating func v3AcknowledgeDue(at now: ContinuousClock.Instant, messageIDs: () -> UInt16, into out: inout [Action])
    {
        guard self.v3.updating, self.v3.unacknowledged > 0 else { return }
        self.sendAcknowledgement(messageIDs: messageIDs, into: &out)
    }

    private mutating func updateFinish(_ message: CoAPMessage, messageIDs: () -> UInt16, into out: inout [Action]) {
        var cancel = false
        var discard = false
        var invalid: String?
        if message.type != .confirmable { invalid = "Invalid message type" }
        if message.token.isEmpty { invalid = invalid ?? "Invalid token size" }
        for option in message.options {
            if option.number == .cancelUpdate {
                if !option.value.isEmpty { invalid = invalid ?? "Invalid option size" }
                cancel = true
            } else if option.number == .discardData {
                if !option.value.isEmpty { invalid = invalid ?? "Invalid option size" }
                discard = true
            }
        }
        if let invalid {
            self.fail(
                ReceiverFailure(code: -240, message: invalid),
                to: message,
                acknowledged: false,
                messageIDs: messageIDs,
                into: &out
            )
            return
        }
        self.reply(message.emptyAcknowledgement, to: message, into: &out)
        if cancel {
            if discard { self.v3.persisted = nil }
            self.v3.cancel()
            self.deadlines[.updateTimeout] = nil
            self.deadlines[.acknowledgement] = nil
            out.append(
                .send(CoAPMessage(type: .confirmable, code: .changed, messageID: messageIDs(), token: message.token))
            )
            out.append(.rejected("cancelled by the server"))
            return
        }
        guard self.v3.updating else {
            self.fail(
                ReceiverFailure(code: -210, message: "No update in progress"),
                to: message,
                acknowledged: true,
                messageIDs: messageIDs,
                into: &out
            )
            return
        }
        guard self.v3.fileOffset == self.v3.fileSize else {
            self.fail(
                ReceiverFailure(code: -240, message: "Incomplete file transfer"),
                to: message,
                acknowledged: true,
                messageIDs: messageIDs,
                into: &out
            )
            let pending = self.v3.errorResponseID
            self.v3.cancel()
            self.v3.errorResponseID = pending
            self.deadlines[.updateTimeout] = nil
            return
        }
        if case .failure(let failure) = self.check(self.v3.image) {
            // The file is bad: what was kept is useless.
            self.v3.persisted = nil
            self.fail(failure, to: message, acknowledged: true, messageIDs: messageIDs, into: &out)
            let pending = self.v3.errorResponseID
            self.v3.cancel()
            self.v3.errorResponseID = pending
            self.deadlines[.updateTimeout] = nil
            return
        }
        let stats =
            "{\"recv_chunks\":\(self.v3.receivedChunks),\"dup_chunks\":\(self.v3.duplicateChunks),"
            + "\"ooo_chunks\":\(self.v3.outOfOrderChunks),\"sent_acks\":\(self.v3.sentAcknowledgements),\"proc_time\":0}"
        let id = messageIDs()
        self.v3.finishResponseID = id
        self.deadlines[.acknowledgement] = nil
        out.append(
            .send(
                CoAPMessage(
                    type: .confirmable,
                    code: .changed,
                    messageID: id,
                    token: message.token,
                    payload: Array(stats.utf8)
                )
            )
        )
    }
}
