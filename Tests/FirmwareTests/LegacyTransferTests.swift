import CoAP
import Crypto
import Firmware
import Testing

/// The legacy server machine, message by message, against the bytes Device OS expects and
/// sends.
@Suite struct LegacyTransferTests {
    /// The virtual device's Hello: flags 0x36, max message 960, max binary 10 MiB, chunk 512.
    static let virtualDevice = DeviceProfile(
        platformID: 3,
        helloFlags: 0x36,
        systemVersion: 5002,
        maximumMessageSize: 960,
        maximumBinarySize: 10_485_760,
        otaChunkSize: 512
    )
    static let image: [UInt8] = (0..<10240).map { UInt8(truncatingIfNeeded: $0 &* 7) }

    private func started(transport: Transport = .tcp, ids: IDCounter) -> (FirmwareTransfer, [TransferAction]) {
        var transfer = FirmwareTransfer(image: Self.image, fileSHA256: [], device: Self.virtualDevice)
        let actions = transfer.start(on: TransferConnection(transport: transport, token: 0x07), at: at(0)) {
            ids.next()
        }
        return (transfer, actions)
    }

    private func chunkData(_ index: Int, size: Int = 512) -> [UInt8] {
        Array(Self.image[(index * size)..<min(Self.image.count, (index + 1) * size)])
    }

    @Test func updateBeginIsTheSpecVector() {
        let ids = IDCounter(after: 0x0029)
        let (transfer, actions) = self.started(ids: ids)
        #expect(transfer.otaProtocol == .legacy)
        #expect(transfer.requestsFastOTA)
        #expect(actions.sent == [hex("41 02 00 2a 07 b1 75 ff 01 02 00 00 00 28 00 00 00 00 00 00")])
        #expect(actions.deadline == .some(at(30_000)))
        #expect(
            actions.contains(
                .progress(TransferProgress(bytesDone: 0, totalBytes: 10240, chunksDone: 0, chunkCount: 20, attempt: 1))
            )
        )
    }

    @Test func fastOTAStreamsIndexedNONChunksThenUpdateDone() {
        let ids = IDCounter(after: 0x0029)
        var (transfer, _) = self.started(ids: ids)
        #expect(transfer.receive(message("60 00 00 2a"), at: at(5)) { ids.next() }.sent.isEmpty)
        // UpdateReady over TCP: NON 2.04 with the token, fast OTA accepted.
        let ready = transfer.receive(message("51 44 93 60 07 ff 01"), at: at(10)) { ids.next() }
        let first = ready.sent
        #expect(first.count == 8)
        #expect(
            first[0] == hex("51 02 00 2b 07 b1 63 44") + be32(CRC32.checksum(self.chunkData(0))) + hex("02 00 00 ff")
                + self.chunkData(0)
        )
        #expect(
            first[7] == hex("51 02 00 32 07 b1 63 44") + be32(CRC32.checksum(self.chunkData(7))) + hex("02 00 07 ff")
                + self.chunkData(7)
        )
        #expect(ready.flushes)
        var more = transfer.flushed(at: at(11)) { ids.next() }
        #expect(more.sent.count == 8)
        more = transfer.flushed(at: at(12)) { ids.next() }
        // Chunks 16–19, then UpdateDone: CON PUT /u with the token.
        #expect(more.sent.count == 5)
        #expect(more.sent[4] == hex("41 03 00 3f 07 b1 75"))
        #expect(!more.flushes)
        // All there: ACK 2.04 {"r":0}.
        let done = transfer.receive(message("61 44 00 3f 07 ff 7b 22 72 22 3a 30 7d"), at: at(20)) { ids.next() }
        #expect(done.finished == .success)
        #expect(done.deadline == .some(nil))
        #expect(transfer.outcome == .success)
        #expect(transfer.progress.bytesDone == 10240)
    }

    @Test func normalModeSendsOneCONChunkAtATime() {
        let ids = IDCounter(after: 0x0029)
        var (transfer, _) = self.started(ids: ids)
        // The application turned fast OTA off: UpdateReady says 0.
        var actions = transfer.receive(message("51 44 93 60 07 ff 00"), at: at(10)) { ids.next() }
        #expect(
            actions.sent == [
                hex("41 02 00 2b 07 b1 63 44") + be32(CRC32.checksum(self.chunkData(0))) + hex("ff") + self.chunkData(0)
            ]
        )
        // Empty ACK, then ChunkReceived 4.00 (bad CRC): the same chunk under a new message ID.
        #expect(transfer.receive(message("60 00 00 2b"), at: at(11)) { ids.next() }.sent.isEmpty)
        actions = transfer.receive(message("51 80 93 61 07"), at: at(12)) { ids.next() }
        #expect(
            actions.sent == [
                hex("41 02 00 2c 07 b1 63 44") + be32(CRC32.checksum(self.chunkData(0))) + hex("ff") + self.chunkData(0)
            ]
        )
        // ChunkReceived 2.04: the next one.
        actions = transfer.receive(message("51 44 93 62 07"), at: at(13)) { ids.next() }
        #expect(
            actions.sent == [
                hex("41 02 00 2d 07 b1 63 44") + be32(CRC32.checksum(self.chunkData(1))) + hex("ff") + self.chunkData(1)
            ]
        )
        #expect(transfer.progress.chunksDone == 1)
        for index in 1..<20 {
            actions = transfer.receive(
                message("51 44 93 \(String(format: "%02x", 0x63 + index)) 07"),
                at: at(20 + index)
            ) {
                ids.next()
            }
        }
        #expect(actions.sent == [hex("41 03 00 40 07 b1 75")])
        actions = transfer.receive(message("61 44 00 40 07 ff 7b 22 72 22 3a 30 7d"), at: at(50)) { ids.next() }
        #expect(actions.finished == .success)
    }

    @Test func overUDPTheDeviceAnswersWithCONsThatAreACKed() {
        let ids = IDCounter(after: 0x0029)
        var (transfer, _) = self.started(transport: .udp, ids: ids)
        let ready = transfer.receive(message("41 44 93 60 07 ff 01"), at: at(10)) { ids.next() }
        #expect(ready.sent.first == hex("60 00 93 60"))
        #expect(ready.sent.count == 9)
        // UDP paces bursts: a flush alone does not release the next one before 20 ms.
        #expect(transfer.flushed(at: at(11)) { ids.next() }.sent.isEmpty)
        let paced = transfer.timerFired(at: at(30)) { ids.next() }
        #expect(paced.sent.count == 8)
        // A retransmitted UpdateReady is ACKed again and not acted on.
        #expect(
            transfer.receive(message("41 44 93 60 07 ff 01"), at: at(31)) { ids.next() }.sent == [hex("60 00 93 60")]
        )
    }

    @Test func chunkMissedIsACKedAndItsChunksResentBeforeUpdateDoneAgain() {
        let ids = IDCounter(after: 0x0029)
        var (transfer, _) = self.started(transport: .udp, ids: ids)
        _ = transfer.receive(message("41 44 93 60 07 ff 01"), at: at(10)) { ids.next() }
        _ = transfer.flushed(at: at(11)) { ids.next() }
        _ = transfer.timerFired(at: at(30)) { ids.next() }
        _ = transfer.flushed(at: at(31)) { ids.next() }
        let last = transfer.timerFired(at: at(60)) { ids.next() }
        let done = last.sent.last!
        #expect(Array(done[0...1]) == [0x41, 0x03])
        let doneID = String(format: "%02x %02x", done[2], done[3])
        // 4.00 on the ACK, then ChunkMissed (CON over UDP) for chunks 3 and 17.
        #expect(transfer.receive(message("61 80 \(doneID) 07"), at: at(70)) { ids.next() }.sent.isEmpty)
        let resent = transfer.receive(message("40 01 93 61 b1 63 ff 00 03 00 11"), at: at(71)) { ids.next() }.sent
        #expect(resent.count == 4)
        #expect(resent[0] == hex("60 00 93 61"))
        #expect(Array(resent[1][8...13]) == be32(CRC32.checksum(self.chunkData(3))) + hex("02 00"))
        #expect(resent[1][14] == 0x03)
        #expect(resent[2][14] == 0x11)
        #expect(Array(resent[3][0...1]) == [0x41, 0x03])
    }

    @Test func aChunkMissedBeforeTheBadRequestIsKept() {
        let ids = IDCounter(after: 0x0029)
        var (transfer, _) = self.started(ids: ids)
        _ = transfer.receive(message("51 44 93 60 07 ff 01"), at: at(10)) { ids.next() }
        _ = transfer.flushed(at: at(11)) { ids.next() }
        let done = transfer.flushed(at: at(12)) { ids.next() }.sent.last!
        // Reordered: the list first, then the 4.00.
        #expect(transfer.receive(message("50 01 93 61 b1 63 ff 00 05"), at: at(20)) { ids.next() }.sent.isEmpty)
        let resent = transfer.receive(message("61 80 \(String(format: "%02x %02x", done[2], done[3])) 07"), at: at(21))
        {
            ids.next()
        }.sent
        #expect(resent.count == 2)
        #expect(resent[0][14] == 0x05)
        #expect(Array(resent[1][0...1]) == [0x41, 0x03])
    }

    @Test func aDeviceThatAsksForTheSameChunkForeverFailsTheTransfer() {
        let ids = IDCounter(after: 0x0029)
        var (transfer, _) = self.started(ids: ids)
        _ = transfer.receive(message("51 44 93 60 07 ff 01"), at: at(10)) { ids.next() }
        _ = transfer.flushed(at: at(11)) { ids.next() }
        var done = transfer.flushed(at: at(12)) { ids.next() }.sent.last!
        var outcome: TransferOutcome?
        for round in 0..<20 where outcome == nil {
            let id = String(format: "%02x %02x", done[2], done[3])
            _ = transfer.receive(message("61 80 \(id) 07"), at: at(100 * round + 20)) { ids.next() }
            let actions = transfer.receive(
                message("50 01 90 \(String(format: "%02x", round)) b1 63 ff 00 04"),
                at: at(100 * round + 21)
            ) {
                ids.next()
            }
            outcome = actions.finished
            done = actions.sent.last ?? done
        }
        #expect(outcome == .failure("the device asked for chunk 4 9 times (bad CRC or missed); giving up"))
    }

    @Test func aRefusedUpdateBeginFails() {
        let ids = IDCounter(after: 0x0029)
        var (transfer, _) = self.started(ids: ids)
        let actions = transfer.receive(message("61 a3 00 2a 07"), at: at(10)) { ids.next() }
        #expect(
            actions.finished
                == .failure(
                    "the device refused the update (5.03): updates disabled, another update in progress, "
                        + "or the file too large for it"
                )
        )
        #expect(actions.finished?.flashStatus == .failed)
    }

    @Test func silenceFailsAfterTheResponseTimeout() {
        let ids = IDCounter(after: 0x0029)
        var (transfer, _) = self.started(ids: ids)
        #expect(transfer.timerFired(at: at(29_999)) { ids.next() }.finished == nil)
        let actions = transfer.timerFired(at: at(30_000)) { ids.next() }
        #expect(actions.finished == .failure("the device did not answer UpdateBegin within 30 s"))
    }

    @Test func chunksFitTheDevicesMessageBufferAndFastOTAItsBitmap() {
        var small = Self.virtualDevice
        small.maximumMessageSize = 300
        #expect(FirmwareTransfer(image: Self.image, fileSHA256: [], device: small).chunkSize == 284)
        // 1 MiB in 512-byte chunks: a 256-byte bitmap + 512 + 16 > 600, so no fast OTA.
        var tight = Self.virtualDevice
        tight.maximumMessageSize = 600
        let big = [UInt8](repeating: 0, count: 1 << 20)
        #expect(!FirmwareTransfer(image: big, fileSHA256: [], device: tight).requestsFastOTA)
        #expect(FirmwareTransfer(image: big, fileSHA256: [], device: Self.virtualDevice).requestsFastOTA)
    }

    @Test func filesTheProtocolCannotCarryFailAtOnce() {
        let ids = IDCounter(after: 0)
        let connection = TransferConnection(transport: .tcp, token: 1)
        var empty = FirmwareTransfer(image: [UInt8](), fileSHA256: [], device: Self.virtualDevice)
        #expect(empty.start(on: connection, at: at(0)) { ids.next() }.finished == .failure("the file is empty"))
        var tiny = Self.virtualDevice
        tiny.maximumMessageSize = 20  // 4-byte chunks
        var huge = FirmwareTransfer(image: [UInt8](repeating: 0, count: 300_000), fileSHA256: [], device: tiny)
        #expect(
            huge.start(on: connection, at: at(0)) { ids.next() }.finished
                == .failure("the file needs 75000 chunks, the legacy protocol at most 65534")
        )
    }

    @Test func cancelEndsTheTransferAtOnce() {
        let ids = IDCounter(after: 0x0029)
        var (transfer, _) = self.started(ids: ids)
        let actions = transfer.cancel(at: at(5)) { ids.next() }
        #expect(actions.finished == .failure("cancelled"))
        #expect(actions.sent.isEmpty)
        #expect(transfer.cancel(at: at(6)) { ids.next() }.isEmpty)
    }

    /// Streams everything and sends UpdateDone; returns its message ID.
    private func finishing(_ transfer: inout FirmwareTransfer, ids: IDCounter) -> UInt16 {
        _ = transfer.receive(message("51 44 93 60 07 ff 01"), at: at(10)) { ids.next() }
        _ = transfer.flushed(at: at(11)) { ids.next() }
        let done = transfer.flushed(at: at(12)) { ids.next() }.sent.last!
        #expect(Array(done[0...1]) == [0x41, 0x03])
        return UInt16(done[2]) << 8 | UInt16(done[3])
    }

    @Test func aLostUpdateDoneAnswerIsSettledByTheNextDescribe() throws {
        let image = ModuleBuilder.application(size: 10240, platformID: 3)
        let firmware = try ValidatedFirmware(validating: image, for: nil)
        let ids = IDCounter(after: 0x0029)
        let connection = TransferConnection(transport: .tcp, token: 0x07)
        var transfer = FirmwareTransfer(image: image, firmware: firmware, device: Self.virtualDevice)
        _ = transfer.start(on: connection, at: at(0)) { ids.next() }
        _ = self.finishing(&transfer, ids: ids)
        // The device restarts; its answer never arrived (lost, over UDP).
        #expect(transfer.disconnected(at: at(100)).finished == nil)
        #expect(transfer.connected(connection, at: at(2000)) { ids.next() }.sent.isEmpty)
        let running = InstalledModule(
            function: .userPart,
            index: 1,
            version: 6,
            hash: firmware.primaryModule.suffix.sha256
        )
        #expect(transfer.described([running], at: at(2100)) { ids.next() }.finished == .success)

        // The same, but the device runs the old firmware: from zero.
        var again = FirmwareTransfer(image: image, firmware: firmware, device: Self.virtualDevice)
        _ = again.start(on: connection, at: at(0)) { ids.next() }
        _ = self.finishing(&again, ids: ids)
        _ = again.disconnected(at: at(100))
        _ = again.connected(connection, at: at(2000)) { ids.next() }
        var old = running
        old.hash = [UInt8](repeating: 0, count: 32)
        let restart = again.described([old], at: at(2100)) { ids.next() }
        #expect(restart.sent.count == 1)
        #expect(Array(restart.sent[0][0...6]) == hex("41 02") + Array(restart.sent[0][2...3]) + hex("07 b1 75"))
        #expect(again.progress.attempt == 2)

        // No Describe at all: from zero after the response timeout.
        var silent = FirmwareTransfer(image: image, firmware: firmware, device: Self.virtualDevice)
        _ = silent.start(on: connection, at: at(0)) { ids.next() }
        _ = self.finishing(&silent, ids: ids)
        _ = silent.disconnected(at: at(100))
        _ = silent.connected(connection, at: at(2000)) { ids.next() }
        let timeout = silent.timerFired(at: at(2000 + 30_000)) { ids.next() }
        #expect(timeout.sent.count == 1)
        #expect(silent.progress.attempt == 2)
    }

    @Test func onlyItsOwnMessagesAreClaimed() {
        let ids = IDCounter(after: 0x0029)
        let (transfer, _) = self.started(ids: ids)
        #expect(transfer.claims(message("60 00 00 2a")))
        #expect(!transfer.claims(message("60 00 00 2b")))
        #expect(transfer.claims(message("51 44 93 60 07 ff 01")))
        #expect(!transfer.claims(message("51 45 93 60 08 ff 01")))
        #expect(transfer.claims(message("40 01 93 61 b1 63 ff 00 03")))
        #expect(!transfer.claims(message("40 01 93 61 b1 65 03 61 62 63")))  // a subscription
        #expect(!transfer.claims(message("40 00 93 62")))  // a ping
    }
}
