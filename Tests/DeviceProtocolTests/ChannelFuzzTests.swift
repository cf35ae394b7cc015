import DeviceProtocol
import Testing

/// Seeded random and corrupted frame streams for the encrypted channel (issue 3, "bad
/// input"). `SecureChannel.receive` throws `DeviceProtocolError` only (typed throws); these
/// tests pin down that it never traps, that what precedes a corruption still decodes, that
/// corrupted length prefixes fail or wait (bounded by the maximum frame length) and that random
/// bytes fail quickly.
@Suite struct ChannelFuzzTests {
    let keys: SessionKeys

    init() throws {
        self.keys = try SessionKeys(material: hex(Fixtures.RHex))
    }

    /// `count` random messages (empty ones and block-aligned ones included) and their frames,
    /// as a device would seal them.
    private func sealed(_ count: Int, using generator: inout SplitMix64) throws -> ([[UInt8]], [[UInt8]]) {
        var device = SecureChannel(keys: self.keys)
        var messages: [[UInt8]] = []
        var frames: [[UInt8]] = []
        for _ in 0..<count {
            let length = [0, 4, 15, 16, 17, 32, Int(generator.next() % 200), Int(generator.next() % 1200)][
                Int(generator.next() % 8)
            ]
            let message = (0..<length).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
            messages.append(message)
            frames.append(try device.seal(message))
        }
        return (messages, frames)
    }

    /// Feeds `bytes` in random chunks; returns the messages and the error that ended it.
    private func feed(
        _ bytes: [UInt8],
        to channel: inout SecureChannel,
        using generator: inout SplitMix64
    ) -> ([[UInt8]], DeviceProtocolError?) {
        var messages: [[UInt8]] = []
        var index = 0
        while index < bytes.count {
            let end = min(bytes.count, index + 1 + Int(generator.next() % 300))
            do {
                messages += try channel.receive(bytes[index..<end])
            } catch {
                return (messages, error)
            }
            // Good messages before a bad frame in the same bytes are returned, then it fails.
            if let failure = channel.failure { return (messages, failure) }
            index = end
        }
        return (messages, nil)
    }

    @Test func longStreamsInRandomChunksDecodeExactly() throws {
        var generator = SplitMix64(seed: 0xF4A3)
        for _ in 0..<20 {
            let (messages, frames) = try self.sealed(200, using: &generator)
            var server = SecureChannel(keys: self.keys, maximumFrameLength: 16_400)
            let (decoded, error) = self.feed(frames.flatMap { $0 }, to: &server, using: &generator)
            #expect(error == nil)
            #expect(decoded == messages)
            #expect(server.decoder.bufferedByteCount == 0)
        }
    }

    @Test func corruptedStreamsKeepWhatCameBeforeAndNeverTrap() throws {
        var generator = SplitMix64(seed: 0xBADF)
        var failures: [DeviceProtocolError: Int] = [:]
        var waiting = 0
        for _ in 0..<1500 {
            let (messages, frames) = try self.sealed(2 + Int(generator.next() % 8), using: &generator)
            let target = Int(generator.next() % UInt64(frames.count))
            let before = frames[..<target].flatMap { $0 }
            var corrupted = frames[target]
            let after = frames[(target + 1)...].flatMap { $0 }
            var tail: [UInt8] = []
            switch generator.next() % 6 {
            case 0:  // a bit of the length prefix
                corrupted[Int(generator.next() % 2)] ^= 1 << UInt8(generator.next() % 8)
            case 1:  // a bit of the ciphertext
                let index = 2 + Int(generator.next() % UInt64(corrupted.count - 2))
                corrupted[index] ^= 1 << UInt8(generator.next() % 8)
            case 2:  // cut short: the rest never comes
                corrupted.removeLast(1 + Int(generator.next() % UInt64(corrupted.count - 1)))
            case 3:  // a replayed earlier frame in place of this one
                corrupted = frames[Int(generator.next() % UInt64(target + 1))]
                if target == 0 { corrupted[2] ^= 0x80 }
            case 4:  // garbage between frames
                corrupted = (0..<(1 + generator.next() % 40)).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
                tail = frames[target]
            default:  // the ciphertext of another session
                var other = SecureChannel(keys: try SessionKeys(material: Array(repeating: 7, count: 40)))
                corrupted = try other.seal(messages[target])
            }
            var server = SecureChannel(keys: self.keys, maximumFrameLength: 16_400)
            let (decoded, error) = self.feed(before + corrupted + tail + after, to: &server, using: &generator)
            // Every message sealed before the corruption decodes, in order, even when the bad
            // frame arrives in the same bytes as good ones.
            #expect(decoded.count >= target)
            #expect(Array(decoded.prefix(target)) == Array(messages[..<target]))
            if let error {
                failures[error, default: 0] += 1
            } else if decoded.count <= target {
                // A length prefix that now promises more: the decoder waits (the connection's
                // idle timeout ends it), holding no more than one maximum frame.
                #expect(server.decoder.bufferedByteCount > 0)
                #expect(server.decoder.bufferedByteCount <= 16_402)
                waiting += 1
            }
        }
        #expect(failures[.decryptionFailed, default: 0] > 0)
        #expect(failures[.invalidFrameLength, default: 0] > 0)
        #expect(failures[.frameTooLong, default: 0] > 0)
        #expect(waiting > 0)
    }

    @Test func randomBytesFailWithinAFewFrames() {
        var generator = SplitMix64(seed: 0x5A5A)
        for _ in 0..<300 {
            var server = SecureChannel(keys: self.keys, maximumFrameLength: 16_400)
            var fed = 0
            var failed = false
            while fed < 200_000, !failed {
                let chunk = (0..<1024).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
                fed += chunk.count
                do {
                    _ = try server.receive(chunk)
                } catch {
                    failed = true
                }
            }
            // A random length is a multiple of 16 one time in 16 and must then decrypt to valid
            // PKCS#7: random input ends the channel long before 200 KB.
            #expect(failed)
            #expect(server.decoder.bufferedByteCount <= 16_402 + 1024)
        }
    }

    @Test func theLargestFramesAtTheLimit() throws {
        var device = SecureChannel(keys: self.keys)
        var server = SecureChannel(keys: self.keys, maximumFrameLength: 16_400)
        // 16383 bytes pad to 16384: fits. 16400 bytes pad to 16416: one block over.
        let fits = [UInt8](repeating: 0x33, count: 16_383)
        #expect(try server.receive(try device.seal(fits)) == [fits])
        let over = try device.seal([UInt8](repeating: 0x44, count: 16_400))
        #expect(throws: DeviceProtocolError.frameTooLong) { try server.receive(over.prefix(2)) }
        // The most a length prefix can say, and a message too long to frame at all.
        var unlimited = SecureChannel(keys: self.keys)
        #expect(throws: DeviceProtocolError.frameTooLong) { try unlimited.seal([UInt8](repeating: 0, count: 0xFFF0)) }
        let largest = try unlimited.seal([UInt8](repeating: 0, count: 0xFFEF))
        #expect(Array(largest.prefix(2)) == [0xFF, 0xF0])
    }
}
