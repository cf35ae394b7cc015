import CoAP
import Crypto
import Firmware
import Testing

/// The simulated device's side, message by message, against the bytes Device OS sends.
@Suite struct UpdateReceiverTests {
    static let legacyImage = ModuleBuilder.application(size: 10240, platformID: 3)
    static let v3Image = ModuleBuilder.application(size: 9965, platformID: 12)

    private func legacyDevice(
        _ transport: Transport = .tcp,
        misbehaviour: ReceiverMisbehaviour = ReceiverMisbehaviour()
    )
        -> UpdateReceiver
    {
        var configuration = UpdateReceiver.Configuration(otaProtocol: .legacy, transport: transport, platformID: 3)
        configuration.maximumBinarySize = 10_485_760
        configuration.misbehaviour = misbehaviour
        return UpdateReceiver(configuration: configuration)
    }

    private func chunk(_ index: Int, fast: Bool, mid: UInt16, image: [UInt8] = Self.legacyImage) -> CoAPMessage {
        let data = Array(image[(index * 512)..<min(image.count, (index + 1) * 512)])
        var bytes = [fast ? 0x51 : 0x41, 0x02, UInt8(mid >> 8), UInt8(mid & 0xFF), 0x07, 0xB1, 0x63, 0x44]
        bytes += be32(CRC32.checksum(data))
        if fast { bytes += [0x02, 0x00, UInt8(index)] }
        return try! CoAPMessage(decoding: bytes + [0xFF] + data)
    }

    @Test func legacyBeginIsAnsweredWithAnEmptyACKAndUpdateReady() {
        var device = self.legacyDevice()
        let ids = IDCounter(after: 0x935F)
        let actions = device.receive(message("41 02 00 2a 07 b1 75 ff 01 02 00 00 00 28 00 00 00 00 00 00"), at: at(0))
        {
            ids.next()
        }
        #expect(actions.sent == [hex("60 00 00 2a"), hex("51 44 93 60 07 ff 01")])
        #expect(actions.contains(.deadline(at(300_000))))
        #expect(device.isUpdating)
        // Over UDP UpdateReady is a CON.
        var udp = self.legacyDevice(.udp)
        let udpActions = udp.receive(message("41 02 00 2a 07 b1 75 ff 00 02 00 00 00 28 00 00 00 00 00 00"), at: at(0))
        {
            ids.next()
        }
        #expect(udpActions.sent == [hex("60 00 00 2a"), hex("41 44 93 61 07 ff 00")])
    }

    @Test func legacyBeginIsRefusedWithAPiggybacked503() {
        var refusing = ReceiverMisbehaviour()
        refusing.refuse = true
        var device = self.legacyDevice(misbehaviour: refusing)
        let actions = device.receive(message("41 02 00 2a 07 b1 75 ff 01 02 00 00 00 28 00 00 00 00 00 00"), at: at(0))
        {
            0
        }
        #expect(actions.sent == [hex("61 a3 00 2a 07")])
        // A file larger than the device takes is refused too.
        var small = self.legacyDevice()
        let big = small.receive(message("41 02 00 2b 07 b1 75 ff 01 02 00 01 00 00 01 00 00 00 00 00"), at: at(0)) { 0 }
        #expect(big.sent == [hex("61 a3 00 2b 07")])
    }

    @Test func normalModeChunksAreACKedAndAnsweredWithChunkReceived() {
        var device = self.legacyDevice()
        let ids = IDCounter(after: 0x935F)
        _ = device.receive(message("41 02 00 2a 07 b1 75 ff 00 02 00 00 00 28 00 00 00 00 00 00"), at: at(0)) {
            ids.next()
        }
        var actions = device.receive(self.chunk(0, fast: false, mid: 0x2B), at: at(1)) { ids.next() }
        #expect(actions.sent == [hex("60 00 00 2b"), hex("51 44 93 61 07")])
        // A bad CRC: 4.00.
        var bad = try! self.chunk(1, fast: false, mid: 0x2C).encoded()
        bad[bad.count - 1] ^= 1
        actions = device.receive(try! CoAPMessage(decoding: bad), at: at(2)) { ids.next() }
        #expect(actions.sent == [hex("60 00 00 2c"), hex("51 80 93 62 07")])
        // A retransmission of the first chunk gets the same empty ACK and nothing else.
        actions = device.receive(self.chunk(0, fast: false, mid: 0x2B), at: at(3)) { ids.next() }
        #expect(actions.sent == [hex("60 00 00 2b")])
    }

    @Test func updateDoneListsMissedChunksThenAppliesACompleteFile() throws {
        var device = self.legacyDevice()
        let ids = IDCounter(after: 0x935F)
        _ = device.receive(message("41 02 00 2a 07 b1 75 ff 01 02 00 00 00 28 00 00 00 00 00 00"), at: at(0)) {
            ids.next()
        }
        for index in 0..<20 where index != 4 && index != 11 {
            #expect(
                device.receive(self.chunk(index, fast: true, mid: UInt16(0x100 + index)), at: at(1)) { ids.next() }.sent
                    .isEmpty
            )
        }
        var actions = device.receive(message("41 03 00 40 07 b1 75"), at: at(2)) { ids.next() }
        // `61 80 mid tk`, then ChunkMissed NON GET /c (TCP) with 2-byte indices.
        #expect(actions.sent == [hex("61 80 00 40 07"), hex("50 01 93 61 b1 63 ff 00 04 00 0b")])
        _ = device.receive(self.chunk(4, fast: true, mid: 0x200), at: at(3)) { ids.next() }
        _ = device.receive(self.chunk(11, fast: true, mid: 0x201), at: at(3)) { ids.next() }
        actions = device.receive(message("41 03 00 41 07 b1 75"), at: at(4)) { ids.next() }
        #expect(actions.sent == [hex("61 44 00 41 07 ff") + Array(#"{"r":0}"#.utf8)])
        let firmware = try ValidatedFirmware(validating: Self.legacyImage, for: nil)
        #expect(actions.contains(.applied(firmware)))
        #expect(actions.contains(.restart("update")))
        #expect(!device.isUpdating)
    }

    @Test func v3StartIsAnsweredWithCreatedWindowAndHeldBytes() {
        var device = UpdateReceiver(configuration: .init(otaProtocol: .v3, transport: .udp, platformID: 12))
        let ids = IDCounter(after: 0x9A00)
        let sha = Array(SHA256.hash(data: Self.v3Image))
        let start = hex("41 02 01 00 61 b1 53 e2 06 f1 26 ed 4d 13") + sha + hex("42 02 00")
        let actions = device.receive(try! CoAPMessage(decoding: start), at: at(0)) { ids.next() }
        #expect(actions.sent == [hex("60 00 01 00"), hex("41 41 9a 01 61 e2 06 f8 01 00 40")])
        // An invalid chunk size is refused on the ACK, with the device's diagnostic.
        let invalid = hex("41 02 01 01 61 b1 53 e2 06 f1 26 ed 4d 13") + sha + hex("42 01 f4")
        let refused = device.receive(try! CoAPMessage(decoding: invalid), at: at(1)) { ids.next() }
        #expect(
            refused.sent == [
                hex("61 a3 01 01 61 ff") + Array(#"{"code":-240,"message":"Invalid chunk size: 500"}"#.utf8)
            ]
        )
    }

    @Test func v3ChunksAreAcknowledgedWithCumulativeIndexAndBitmap() {
        var device = UpdateReceiver(configuration: .init(otaProtocol: .v3, transport: .udp, platformID: 12))
        let ids = IDCounter(after: 0x9A00)
        let sha = Array(SHA256.hash(data: Self.v3Image))
        _ = device.receive(
            try! CoAPMessage(decoding: hex("41 02 01 00 61 b1 53 e2 06 f1 26 ed 4d 13") + sha + hex("42 02 00")),
            at: at(0)
        ) { ids.next() }
        func chunk(_ index: Int, mid: UInt16) -> CoAPMessage {
            let data =
                index > 20 ? [0x00] : Array(Self.v3Image[((index - 1) * 512)..<min(Self.v3Image.count, index * 512)])
            return try! CoAPMessage(
                decoding: [0x50, 0x02, UInt8(mid >> 8), UInt8(mid & 0xFF)] + hex("b1 43 e1 06 e9") + [
                    UInt8(index), 0xFF,
                ] + data
            )
        }
        // Chunk 2 first: a gap, acknowledged at once with cum 0 (empty option) and bit 1.
        var actions = device.receive(chunk(2, mid: 0x102), at: at(1)) { ids.next() }
        #expect(actions.sent == [hex("50 02 9a 02 b1 41 e0 06 e9 ff 02 00 00 00")])
        actions = device.receive(chunk(1, mid: 0x101), at: at(2)) { ids.next() }
        #expect(actions.sent == [hex("50 02 9a 03 b1 41 e1 06 e9 02")])
        // Chunk 3 alone: the ack waits 200 ms.
        actions = device.receive(chunk(3, mid: 0x103), at: at(3)) { ids.next() }
        #expect(actions.sent.isEmpty)
        #expect(actions.contains(.deadline(at(203))))
        actions = device.timerFired(at: at(203)) { ids.next() }
        #expect(actions.sent == [hex("50 02 9a 04 b1 41 e1 06 e9 03")])
        // A duplicate is acknowledged at once.
        actions = device.receive(chunk(1, mid: 0x104), at: at(300)) { ids.next() }
        #expect(actions.sent == [hex("50 02 9a 05 b1 41 e1 06 e9 03")])
        #expect(device.heldBytes == 1536)
        // An index beyond the file: RST, the update is cancelled and the connection dropped.
        actions = device.receive(chunk(21, mid: 0x105), at: at(301)) { ids.next() }
        #expect(actions.sent == [hex("70 00 01 05")])
        #expect(actions.contains(.disconnect("Invalid chunk index: 21 (-240)")))
        #expect(!device.isUpdating)
        #expect(device.heldBytes == 1536)  // kept for a resume
    }

    @Test func v3FinishAppliesOnlyWhenItsAnswerIsACKed() throws {
        var device = UpdateReceiver(configuration: .init(otaProtocol: .v3, transport: .udp, platformID: 12))
        let ids = IDCounter(after: 0x9A00)
        let sha = Array(SHA256.hash(data: Self.v3Image))
        _ = device.receive(
            try! CoAPMessage(decoding: hex("41 02 01 00 61 b1 53 e2 06 f1 26 ed 4d 13") + sha + hex("42 02 00")),
            at: at(0)
        ) { ids.next() }
        // Finishing early: "Incomplete file transfer" as a separate CON error.
        var actions = device.receive(message("41 02 01 01 61 b1 46"), at: at(1)) { ids.next() }
        #expect(
            actions.sent == [
                hex("60 00 01 01"),
                hex("41 a3 9a 02 61 ff") + Array(#"{"code":-240,"message":"Incomplete file transfer"}"#.utf8),
            ]
        )
        // Its ACK makes the device close the connection.
        actions = device.receive(message("60 00 9a 02"), at: at(2)) { ids.next() }
        #expect(actions.contains(.disconnect("OTA update error")))
        // Again, completely.
        _ = device.receive(
            try! CoAPMessage(decoding: hex("41 02 01 03 61 b1 53 e2 06 f1 26 ed 4d 13") + sha + hex("42 02 00")),
            at: at(3)
        ) { ids.next() }
        for index in 1...20 {
            let data = Array(Self.v3Image[((index - 1) * 512)..<min(Self.v3Image.count, index * 512)])
            _ = device.receive(
                try! CoAPMessage(
                    decoding: [0x50, 0x02, 0x02, UInt8(index)] + hex("b1 43 e1 06 e9") + [UInt8(index), 0xFF] + data
                ),
                at: at(4)
            ) { ids.next() }
        }
        actions = device.receive(message("41 02 01 04 61 b1 46"), at: at(5)) { ids.next() }
        let sent = actions.sent
        #expect(sent[0] == hex("60 00 01 04"))
        #expect(Array(sent[1][0...1]) == [0x41, 0x44])
        #expect(Array(sent[1][4...5]) == [0x61, 0xFF])
        #expect(String(decoding: sent[1][6...], as: UTF8.self).hasPrefix(#"{"recv_chunks":20,"dup_chunks":0,"#))
        #expect(!actions.contains { if case .applied = $0 { true } else { false } })
        let ack = try CoAPMessage(decoding: [0x60, 0x00, sent[1][2], sent[1][3]])
        actions = device.receive(ack, at: at(6)) { ids.next() }
        #expect(actions.contains(.applied(try ValidatedFirmware(validating: Self.v3Image, for: nil))))
        #expect(actions.contains(.restart("update")))
    }

    @Test func v3CancelIsConfirmedWithA204() {
        var device = UpdateReceiver(configuration: .init(otaProtocol: .v3, transport: .tcp, platformID: 12))
        let ids = IDCounter(after: 0x9A00)
        _ = device.receive(
            try! CoAPMessage(
                decoding: hex("41 02 01 00 61 b1 53 e2 06 f1 26 ed 4d 13") + [UInt8](repeating: 1, count: 32)
                    + hex("42 02 00")
            ),
            at: at(0)
        ) { ids.next() }
        let actions = device.receive(message("41 02 01 01 61 b1 46 e0 06 fd 40"), at: at(1)) { ids.next() }
        #expect(actions.sent == [hex("60 00 01 01"), hex("41 44 9a 02 61")])
        #expect(!device.isUpdating)
        #expect(device.heldBytes == 0)
    }
}
