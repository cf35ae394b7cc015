import CoAP
import Crypto
import Firmware
import Testing

/// The OTA v3 server machine, message by message, against the bytes of Device OS's unit test.
@Suite struct V3TransferTests {
    static let argon = DeviceProfile(
        platformID: 12,
        helloFlags: 0x00F6,
        systemVersion: 5800,
        maximumMessageSize: 1152,
        maximumBinarySize: 1_536_000,
        otaChunkSize: 512
    )
    /// 9965 bytes (`0x26ED`), as in the UpdateStart example.
    static let image: [UInt8] = (0..<9965).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ 1) }
    static let sha = Array(SHA256.hash(data: image))

    private func started(
        transport: Transport = .udp,
        configuration: TransferConfiguration = TransferConfiguration(),
        ids: IDCounter
    ) -> (FirmwareTransfer, [TransferAction]) {
        var transfer = FirmwareTransfer(
            image: Self.image,
            fileSHA256: Self.sha,
            device: Self.argon,
            configuration: configuration
        )
        let actions = transfer.start(on: TransferConnection(transport: transport, token: 0x61), at: at(0)) {
            ids.next()
        }
        return (transfer, actions)
    }

    private func data(_ index: Int, offset: Int = 0) -> [UInt8] {
        let start = offset + (index - 1) * 512
        return Array(Self.image[start..<min(Self.image.count, start + 512)])
    }

    @Test func updateStartIsTheSpecExample() {
        let ids = IDCounter(after: 0x00FF)
        let (transfer, actions) = self.started(ids: ids)
        #expect(transfer.otaProtocol == .v3)
        #expect(transfer.chunkSize == 512)
        #expect(actions.sent == [hex("41 02 01 00 61 b1 53 e2 06 f1 26 ed 4d 13") + Self.sha + hex("42 02 00")])
        #expect(actions.deadline == .some(at(95_000)))
    }

    @Test func chunksFollowTheCreatedResponseInsideTheWindow() {
        let ids = IDCounter(after: 0x00FF)
        var (transfer, _) = self.started(
            configuration: {
                var c = TransferConfiguration(); c.burstSize = 32; return c
            }(),
            ids: ids
        )
        #expect(transfer.receive(message("60 00 01 00"), at: at(5)) { ids.next() }.sent.isEmpty)
        // 2.01: Window-Size 256, File-Size 0 (empty): ACK it, then chunk 1, 2, …
        let actions = transfer.receive(message("41 41 9a 01 61 e2 06 f8 01 00 40"), at: at(10)) { ids.next() }
        let sent = actions.sent
        #expect(sent[0] == hex("60 00 9a 01"))
        #expect(sent.count == 1 + 20)  // ceil(9965 / 512) = 20 chunks, all inside the window
        #expect(sent[1] == hex("50 02 01 01 b1 43 e1 06 e9 01 ff") + self.data(1))
        #expect(sent[20] == hex("50 02 01 14 b1 43 e1 06 e9 14 ff") + self.data(20))
        #expect(self.data(20).count == 9965 - 19 * 512)
        #expect(!actions.flushes)
    }

    @Test func updateAcksSlideTheWindowResendHolesAndEndInUpdateFinish() {
        var configuration = TransferConfiguration()
        configuration.burstSize = 100
        let ids = IDCounter(after: 0x00FF)
        var (transfer, _) = self.started(configuration: configuration, ids: ids)
        // A window of 4 chunks.
        var actions = transfer.receive(message("41 41 9a 01 61 e1 06 f8 04 40"), at: at(10)) { ids.next() }
        #expect(actions.sent.count == 1 + 4)
        // Chunks 1–2 contiguous: two more may go.
        actions = transfer.receive(message("50 02 9a 02 b1 41 e1 06 e9 02"), at: at(20)) { ids.next() }
        #expect(actions.sent.map { $0[9] } == [5, 6])
        #expect(transfer.progress.chunksDone == 2)
        // 3 missing, 4 and 5 received (bits 0 and 1 of the bitmap beyond cum 3? no: beyond 2):
        // bit b of word 0 = chunk 2 + b + 1, so bits 1, 2 = chunks 4, 5 → 0x06.
        actions = transfer.receive(message("50 02 9a 03 b1 41 e1 06 e9 02 ff 06 00 00 00"), at: at(30)) { ids.next() }
        #expect(actions.sent.map { $0[9] } == [3])  // the hole, resent at once; the window is full
        // The same ack again does not resend the hole again.
        actions = transfer.receive(message("50 02 9a 04 b1 41 e1 06 e9 02 ff 06 00 00 00"), at: at(31)) { ids.next() }
        #expect(actions.sent.isEmpty)
        // Everything up to 6 arrived: chunks 7–10.
        actions = transfer.receive(message("50 02 9a 05 b1 41 e1 06 e9 06"), at: at(40)) { ids.next() }
        #expect(actions.sent.map { $0[9] } == [7, 8, 9, 10])
        // Nothing heard for 2 s (UDP): everything unacknowledged again.
        actions = transfer.timerFired(at: at(2040)) { ids.next() }
        #expect(actions.sent.map { $0[9] } == [7, 8, 9, 10])
        for cumulative in [10, 14, 18] {
            _ = transfer.receive(
                message(
                    "50 02 9a \(String(format: "%02x", cumulative)) b1 41 e1 06 e9 \(String(format: "%02x", cumulative))"
                ),
                at: at(3000 + cumulative)
            ) {
                ids.next()
            }
        }
        actions = transfer.receive(message("50 02 9a 20 b1 41 e1 06 e9 14"), at: at(3100)) { ids.next() }
        // All 20: UpdateFinish, CON POST /F with the token.
        let finish = actions.sent.last!
        #expect(Array(finish[0...1]) == [0x41, 0x02])
        #expect(Array(finish[4...]) == hex("61 b1 46"))
        let id = String(format: "%02x %02x", finish[2], finish[3])
        #expect(transfer.receive(message("60 00 \(id)"), at: at(3110)) { ids.next() }.finished == nil)
        // The separate CON 2.04 with statistics: ACK it, which makes the device apply the file.
        actions = transfer.receive(
            message("41 44 9a 30 61 ff" + spacedHex(Array(#"{"recv_chunks":24,"dup_chunks":0}"#.utf8))),
            at: at(3120)
        ) { ids.next() }
        #expect(actions.sent == [hex("60 00 9a 30")])
        #expect(actions.finished == .success)
        // If that ACK is lost the device sends the 2.04 again: it is ACKed again.
        #expect(transfer.claims(message("41 44 9a 30 61")))
        #expect(transfer.receive(message("41 44 9a 30 61"), at: at(5000)) { ids.next() }.sent == [hex("60 00 9a 30")])
    }

    @Test func aResumeContinuesFromTheBytesTheDeviceKept() {
        let ids = IDCounter(after: 0x00FF)
        var (transfer, _) = self.started(ids: ids)
        // File-Size 1024 in the 2.01: chunk 1 carries bytes 1024…1535.
        let actions = transfer.receive(message("41 41 9a 01 61 e2 06 f8 01 00 42 04 00"), at: at(10)) { ids.next() }
        #expect(actions.sent[1] == hex("50 02 01 01 b1 43 e1 06 e9 01 ff") + self.data(1, offset: 1024))
        #expect(transfer.progress.bytesDone == 1024)
        #expect(transfer.progress.chunkCount == 18)
    }

    @Test func chunkIndicesAbove255TakeTwoBytes() {
        let big = [UInt8](repeating: 0x5A, count: 300 * 512)
        var transfer = FirmwareTransfer(image: big, fileSHA256: [UInt8](repeating: 1, count: 32), device: Self.argon)
        let ids = IDCounter(after: 0)
        _ = transfer.start(on: TransferConnection(transport: .tcp, token: 1), at: at(0)) { ids.next() }
        var sent: [[UInt8]] = []
        var actions = transfer.receive(message("41 41 00 01 01 e2 06 f8 01 00 40"), at: at(1)) { ids.next() }
        sent += actions.sent
        while actions.flushes {
            actions = transfer.flushed(at: at(2)) { ids.next() }
            sent += actions.sent
        }
        #expect(sent.count == 1 + 256)  // the window
        #expect(Array(sent[256][4...10]) == hex("b1 43 e2 06 e9 01 00"))
    }

    @Test func aRefusedStartFailsWithTheDevicesReason() {
        let ids = IDCounter(after: 0x00FF)
        var (transfer, _) = self.started(ids: ids)
        let payload = spacedHex(Array(#"{"code":-240,"message":"Invalid chunk size: 500"}"#.utf8))
        let actions = transfer.receive(message("61 a3 01 00 61 ff " + payload), at: at(10)) { ids.next() }
        #expect(
            actions.finished
                == .failure("the device refused the update: protocol error (-240): Invalid chunk size: 500")
        )
    }

    @Test func disabledUpdatesAreReportedAfterTheSeparateErrorIsACKed() {
        let ids = IDCounter(after: 0x00FF)
        var (transfer, _) = self.started(ids: ids)
        _ = transfer.receive(message("60 00 01 00"), at: at(5)) { ids.next() }
        let payload = spacedHex(Array(#"{"code":-1380}"#.utf8))
        let actions = transfer.receive(message("41 a3 9a 02 61 ff " + payload), at: at(10)) { ids.next() }
        #expect(actions.sent == [hex("60 00 9a 02")])
        #expect(actions.finished == .failure("the device refused the update: updates disabled (-1380)"))
    }

    @Test func cancelSendsCancelUpdateWithDiscardData() {
        let ids = IDCounter(after: 0x00FF)
        var (transfer, _) = self.started(ids: ids)
        _ = transfer.receive(message("41 41 9a 01 61 e2 06 f8 01 00 40"), at: at(10)) { ids.next() }
        let cancel = transfer.cancel(at: at(20)) { ids.next() }
        let sent = cancel.sent
        #expect(sent.count == 1)
        #expect(Array(sent[0][4...]) == hex("61 b1 46 e0 06 fd 40"))
        #expect(cancel.finished == nil)
        let id = String(format: "%02x %02x", sent[0][2], sent[0][3])
        _ = transfer.receive(message("60 00 \(id)"), at: at(21)) { ids.next() }
        let done = transfer.receive(message("41 44 9a 09 61"), at: at(22)) { ids.next() }
        #expect(done.sent == [hex("60 00 9a 09")])
        #expect(done.finished == .failure("cancelled"))
    }

    @Test func onlyItsOwnMessagesAreClaimed() {
        let ids = IDCounter(after: 0x00FF)
        var (transfer, _) = self.started(ids: ids)
        #expect(transfer.claims(message("60 00 01 00")))
        #expect(transfer.claims(message("41 41 9a 01 61 e2 06 f8 01 00 40")))
        #expect(!transfer.claims(message("41 45 9a 01 62 ff 01")))
        _ = transfer.receive(message("41 41 9a 01 61 e2 06 f8 01 00 40"), at: at(10)) { ids.next() }
        #expect(transfer.claims(message("50 02 9a 02 b1 41 e1 06 e9 02")))
        #expect(transfer.claims(message("70 00 01 01")))  // an RST for chunk 1
        #expect(!transfer.claims(message("70 00 77 77")))
        #expect(!transfer.claims(message("50 02 9a 03 b1 45 04 74 65 6d 70")))  // an event
    }
}
