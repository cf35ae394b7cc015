import CoAP
import DeviceProtocol
import Testing

@Suite struct ChannelTests {
    let keys: SessionKeys
    let observedHello = hex("50 02 93 51 b1 68 ff 00 03 ff ff 00 36 00 03 00 00 13 8a 03 c0 00 a0 00 00 02 00")
    let ping = hex("40 00 93 52")
    let sixteen = (0..<16).map { UInt8($0) }

    init() throws {
        self.keys = try SessionKeys(material: hex(Fixtures.RHex))
    }

    @Test func sealMatchesPythonFramesWithIVChaining() throws {
        var channel = SecureChannel(keys: self.keys)
        let f1 = try channel.seal(self.observedHello)
        let f2 = try channel.seal(self.ping)
        let f3 = try channel.seal(self.sixteen)
        #expect(f1 == hex(Fixtures.f1Hex))
        #expect(f2 == hex(Fixtures.f2Hex))
        #expect(f3 == hex(Fixtures.f3Hex))
        // Frame sizes of the channel.
        #expect(Array(f1.prefix(2)) == [0x00, 0x20])
        #expect(Array(f2.prefix(2)) == [0x00, 0x10])
        #expect(Array(f3.prefix(2)) == [0x00, 0x20])
        #expect(f1.count == 34 && f2.count == 18 && f3.count == 34)
    }

    @Test func decodeAtEverySplitPosition() throws {
        let stream = hex(Fixtures.f1Hex) + hex(Fixtures.f2Hex) + hex(Fixtures.f3Hex)
        let expected = [self.observedHello, self.ping, self.sixteen]
        for split in 0...stream.count {
            var decoder = FrameDecoder(keys: self.keys)
            var messages = try decoder.decode(stream[..<split])
            messages += try decoder.decode(stream[split...])
            #expect(messages == expected, "split at \(split)")
            #expect(decoder.bufferedByteCount == 0)
        }
        var byteByByte = FrameDecoder(keys: self.keys)
        var messages: [[UInt8]] = []
        for byte in stream { messages += try byteByByte.decode([byte]) }
        #expect(messages == expected)
    }

    @Test func ivChainingBothWaysOverManyMessages() throws {
        var device = SecureChannel(keys: self.keys)
        var server = SecureChannel(keys: self.keys)
        var generator = SplitMix64(seed: 9)
        for round in 0..<20 {
            let length = Int(generator.next() % 70)
            let up = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let down = Array(up.reversed()) + [UInt8(round)]
            let upFrame = try device.seal(up)
            #expect(try server.receive(upFrame) == [up])
            let downFrame = try server.seal(down)
            #expect(try device.receive(downFrame) == [down])
            #expect(Int(upFrame[0]) << 8 | Int(upFrame[1]) == (length / 16 + 1) * 16)
        }
        // Reusing the initial IV for a later frame does not decrypt to the same message.
        var fresh = SecureChannel(keys: self.keys)
        let first = try fresh.seal(self.ping)
        let second = try fresh.seal(self.ping)
        #expect(first != second)
        #expect(Array(second.prefix(2)) == [0x00, 0x10])
    }

    @Test func messageIDsFromTheSalt() {
        var ids = self.keys.deviceMessageIDs
        #expect(Array(self.keys.salt.prefix(2)) == [0x50, 0x93])
        #expect(ids.next() == 0x9351)
        #expect(ids.next() == 0x9352)
        var wrapping = MessageIDCounter(current: 0xFFFF)
        #expect(wrapping.next() == 0x0000)
        var server = MessageIDCounter(current: 0x1000)
        #expect(server.next() == 0x1001)
    }

    @Test func badFrames() throws {
        var zero = FrameDecoder(keys: self.keys)
        #expect(throws: DeviceProtocolError.invalidFrameLength) { try zero.decode([0x00, 0x00]) }
        var unaligned = FrameDecoder(keys: self.keys)
        #expect(throws: DeviceProtocolError.invalidFrameLength) { try unaligned.decode([0x00, 0x0F]) }
        var tooLong = FrameDecoder(keys: self.keys, maximumFrameLength: 1024)
        #expect(throws: DeviceProtocolError.frameTooLong) { try tooLong.decode([0x04, 0x10]) }

        // A frame under the wrong key: the padding check fails (with overwhelming probability).
        var wrongKey = FrameDecoder(keys: try SessionKeys(material: Array(repeating: 1, count: 40)))
        #expect(throws: DeviceProtocolError.decryptionFailed) { try wrongKey.decode(hex(Fixtures.f2Hex)) }
        // Out of order: the second frame decrypted with the initial IV yields garbage or an error,
        // never the ping.
        var outOfOrder = FrameDecoder(keys: self.keys)
        let result = try? outOfOrder.decode(hex(Fixtures.f2Hex))
        #expect(result != [self.ping])
        #expect(throws: DeviceProtocolError.invalidSessionKeys) { try SessionKeys(material: [1, 2, 3]) }
    }

    @Test func randomFramesNeverCrash() {
        var generator = SplitMix64(seed: 77)
        for _ in 0..<2000 {
            var decoder = FrameDecoder(keys: self.keys, maximumFrameLength: 256)
            let count = Int(generator.next() % 80)
            var bytes = (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
            if bytes.count > 2, generator.next() % 2 == 0 {
                bytes[0] = 0
                bytes[1] = UInt8(16 * (1 + generator.next() % 4))
            }
            _ = try? decoder.decode(bytes)
        }
        // Mutated valid frames.
        let valid = hex(Fixtures.f1Hex)
        for index in 0..<valid.count {
            var mutated = valid
            mutated[index] ^= 0x5A
            var decoder = FrameDecoder(keys: self.keys)
            let messages = try? decoder.decode(mutated)
            #expect(messages != [self.observedHello])
        }
    }

    @Test func aGoodMessageBeforeABadFrameInTheSameReadIsKept() throws {
        var device = SecureChannel(keys: self.keys)
        var server = SecureChannel(keys: self.keys)
        let good = try device.seal(self.ping)
        var bad = try device.seal(self.sixteen)
        bad[bad.count - 1] ^= 0xFF
        #expect(try server.receive(good + bad) == [self.ping])
        #expect(server.failure == .decryptionFailed)
        #expect(throws: DeviceProtocolError.decryptionFailed) { try server.receive(good) }
    }
}
