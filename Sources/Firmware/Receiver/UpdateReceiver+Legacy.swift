import CoAP

/// The legacy device (Device OS `communication/src/chunked_transfer.cpp`). Requests are parsed
/// from their bytes as the device parses them: a one-byte token and `b1 <letter>` assumed, the
/// UpdateBegin payload read at byte 8 if byte 7 is the payload marker, the chunk options taken
/// by their order.
extension UpdateReceiver {
    struct LegacyState: Sendable {
        /// The protocol-level transfer (forgotten on disconnect).
        var updating = false
        /// The system-level update (`SPARK_FLASH_UPDATE`), until applied or timed out.
        var systemUpdateInProgress = false
        var fast = false
        var chunkSize = 0
        var fileSize = 0
        /// The running chunk index (normal mode).
        var chunkIndex = 0
        var received: [Bool] = []
        /// Chunks received since UpdateBegin or the last ChunkMissed.
        var receivedSinceMissed = 0
        var image: [UInt8] = []
        var token: [UInt8] = []
    }

    mutating func legacyReceive(
        _ message: CoAPMessage,
        at now: ContinuousClock.Instant,
        messageIDs: () -> UInt16,
        into out: inout [Action]
    ) {
        guard let bytes = try? message.encoded(), bytes.count > 5 + Int(bytes[0] & 0x0F) else { return }
        switch (bytes[1], bytes[5 + Int(bytes[0] & 0x0F)]) {
        case (0x02, UInt8(ascii: "u")): self.updateBegin(message, bytes, at: now, messageIDs: messageIDs, into: &out)
        case (0x02, UInt8(ascii: "c")): self.chunk(message, bytes, at: now, messageIDs: messageIDs, into: &out)
        case (0x03, UInt8(ascii: "u")): self.updateDone(message, at: now, messageIDs: messageIDs, into: &out)
        default: break
        }
    }

    private mutating func updateBegin(
        _ message: CoAPMessage,
        _ bytes: [UInt8],
        at now: ContinuousClock.Instant,
        messageIDs: () -> UInt16,
        into out: inout [Action]
    ) {
        var flags: UInt8 = 0
        var chunkSize = 0
        var fileSize = self.configuration.maximumBinarySize
        var store: UInt8 = 0
        if bytes.count >= 20, bytes[7] == 0xFF {
            flags = bytes[8]
            chunkSize = Int(bytes[9]) << 8 | Int(bytes[10])
            fileSize = bytes[11..<15].reduce(0) { $0 << 8 | Int($1) }
            store = bytes[15]
        }
        if let fast = self.configuration.fastOTA { flags = fast ? flags | 0x01 : flags & ~0x01 }
        if chunkSize == 0 { chunkSize = self.configuration.defaultChunkSize }
        let chunks = (fileSize + chunkSize - 1) / chunkSize
        let accepted =
            store == 0 && !self.misbehaviour.refuse && fileSize > 0
            && fileSize <= self.configuration.maximumBinarySize && !self.legacy.systemUpdateInProgress
            && !self.legacy.updating && chunks < 0xFFFF
        guard accepted else {
            // `61 a3 mid tk`: a piggybacked 5.03, and no UpdateReady.
            self.reply(message.acknowledgement(code: .serviceUnavailable), to: message, into: &out)
            return
        }
        self.reply(message.emptyAcknowledgement, to: message, into: &out)
        self.legacy = LegacyState(
            updating: true,
            systemUpdateInProgress: true,
            fast: flags & 0x01 != 0,
            chunkSize: chunkSize,
            fileSize: fileSize,
            // Normal mode marks every chunk received: it handles them one by one.
            received: [Bool](repeating: flags & 0x01 == 0, count: chunks),
            image: [UInt8](repeating: 0, count: fileSize),
            token: message.token
        )
        self.deadlines[.updateTimeout] = now + self.configuration.updateTimeout
        // UpdateReady: a separate 2.04 with the token and the fast-OTA bit.
        out.append(
            .send(
                self.separate(
                    code: .changed,
                    token: message.token,
                    payload: [self.legacy.fast ? 1 : 0],
                    messageIDs: messageIDs
                )
            )
        )
    }

    private mutating func chunk(
        _ message: CoAPMessage,
        _ bytes: [UInt8],
        at now: ContinuousClock.Instant,
        messageIDs: () -> UInt16,
        into out: inout [Action]
    ) {
        guard self.legacy.updating else { return }
        // Options from byte 7: the first is the CRC, the second (fast OTA) the chunk index.
        var position = 7
        var option = 0
        var crc: UInt32 = 0
        var index: Int?
        while position < bytes.count, bytes[position] != 0xFF {
            let length = Int(bytes[position] & 0x0F)
            guard position + 1 + length <= bytes.count else { return }
            if option == 0, length >= 4 {
                crc = bytes[(position + 1)..<(position + 5)].reduce(0) { $0 << 8 | UInt32($1) }
            } else if option == 1, length >= 2 {
                index = Int(bytes[position + 1]) << 8 | Int(bytes[position + 2])
            }
            option += 1
            position += 1 + length
        }
        guard position < bytes.count else { return }
        let fast = index != nil
        let number = index ?? self.legacy.chunkIndex
        guard self.countChunk(into: &out) else { return }
        guard let data = self.arriving(Array(bytes[(position + 1)...]), number: number) else { return }
        if !fast, message.type == .confirmable {
            self.reply(message.emptyAcknowledgement, to: message, into: &out)
        }
        self.deadlines[.updateTimeout] = now + self.configuration.updateTimeout
        guard number < 0xFFFF else { return }
        if CRC32.checksum(data) == crc {
            let start = number * self.legacy.chunkSize
            // Writes beyond the announced size are cut off.
            if start < self.legacy.fileSize {
                let end = min(self.legacy.fileSize, start + data.count)
                self.legacy.image.replaceSubrange(start..<end, with: data[0..<(end - start)])
            }
            if number < self.legacy.received.count { self.legacy.received[number] = true }
            self.legacy.chunkIndex = number + 1
            self.legacy.receivedSinceMissed += 1
            if !fast {
                out.append(.send(self.separate(code: .changed, token: message.token, messageIDs: messageIDs)))
            }
        } else if !fast {
            // ChunkReceived 4.00: the server sends the same chunk again.
            out.append(.send(self.separate(code: .badRequest, token: message.token, messageIDs: messageIDs)))
        }
        // A bad chunk in fast mode is dropped and asked for at UpdateDone.
    }

    private mutating func updateDone(
        _ message: CoAPMessage,
        at now: ContinuousClock.Instant,
        messageIDs: () -> UInt16,
        into out: inout [Action]
    ) {
        guard self.legacy.updating else {
            self.reply(message.acknowledgement(code: .serviceUnavailable), to: message, into: &out)
            return
        }
        let missing = self.legacy.received.indices.filter { !self.legacy.received[$0] }
        guard missing.isEmpty else {
            // `61 80 mid tk`, then ChunkMissed: GET /c without a token listing the first
            // min(n + max(0.2 n, 2), limit) missing chunks, n = chunks received since the last.
            self.reply(message.acknowledgement(code: .badRequest), to: message, into: &out)
            let n = self.legacy.receivedSinceMissed
            let count = min(n + max(n / 5, 2), self.configuration.missedChunksLimit)
            self.legacy.receivedSinceMissed = 0
            var request = CoAPMessage(
                type: self.configuration.transport == .udp ? .confirmable : .nonConfirmable,
                code: .get,
                messageID: messageIDs(),
                payload: missing.prefix(count).flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] }
            )
            request.appendPath("c")
            out.append(.send(request))
            return
        }
        let result = self.check(self.legacy.image)
        let code: Int
        switch result {
        case .success: code = 0
        case .failure(let failure): code = failure.code
        }
        // `{"r":N}`, then the device applies the update and restarts, whatever N is.
        self.reply(
            message.acknowledgement(code: .changed, payload: Array("{\"r\":\(code)}".utf8)),
            to: message,
            into: &out
        )
        self.legacy = LegacyState()
        self.deadlines[.updateTimeout] = nil
        switch result {
        case .success(let firmware): out.append(.applied(firmware))
        case .failure(let failure): out.append(.rejected("\(failure.message) (\(failure.code))"))
        }
        out.append(.restart("update"))
    }

    /// A separate response with `token`: CON over UDP, NON over TCP.
    func separate(code: CoAPCode, token: [UInt8], payload: [UInt8] = [], messageIDs: () -> UInt16) -> CoAPMessage {
        CoAPMessage(
            type: self.configuration.transport == .udp ? .confirmable : .nonConfirmable,
            code: code,
            messageID: messageIDs(),
            token: token,
            payload: payload
        )
    }
}
