import DeviceProtocol

extension FuzzTarget {
    /// Fixed session keys for the channel targets (any 40 bytes will do).
    static let sessionKeys = try! SessionKeys(material: (0..<40).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) })
    static let maximumFrame = 16_400

    /// Raw bytes as a device might send them after the handshake: decoding them whole, byte by
    /// byte or in random chunks gives the same messages and the same failure; a pending frame
    /// never holds more than the maximum frame; after a failure every call fails the same way.
    func checkFrames(_ input: [UInt8]) throws(PropertyViolation) -> Verdict {
        var generator = SplitMix64(hashing: input)
        let whole = try self.decodeFrames(input, chunks: [input.count])
        var chunks: [Int] = []
        var remaining = input.count
        while remaining > 0 {
            let size = min(remaining, 1 + generator.below(generator.below(2) == 0 ? 4 : 300))
            chunks.append(size)
            remaining -= size
        }
        let split = try self.decodeFrames(input, chunks: chunks)
        try self.require(whole.messages == split.messages, "messages depend on the split")
        try self.require(whole.failure == split.failure, "failure depends on the split")
        return whole.failure == nil ? .accepted : .rejected
    }

    private func decodeFrames(
        _ input: [UInt8],
        chunks: [Int]
    ) throws(PropertyViolation) -> (messages: [[UInt8]], failure: DeviceProtocolError?) {
        var decoder = FrameDecoder(keys: Self.sessionKeys, maximumFrameLength: Self.maximumFrame)
        var messages: [[UInt8]] = []
        var offset = 0
        for size in chunks {
            let chunk = input[offset..<offset + size]
            offset += size
            do {
                messages += try decoder.decode(chunk)
            } catch {
                try self.require(!error.description.isEmpty, "a DeviceProtocolError without a description")
                try self.require(decoder.failure == error, "the thrown error is not the recorded failure")
                break
            }
            if decoder.failure != nil { break }
            try self.require(
                decoder.bufferedByteCount <= Self.maximumFrame + 1,
                "\(decoder.bufferedByteCount) bytes buffered for one frame"
            )
        }
        if let failure = decoder.failure {
            var again: DeviceProtocolError?
            do {
                _ = try decoder.decode([0x00, 0x10])
            } catch {
                again = error
            }
            try self.require(again == failure, "a failed decoder did not fail again the same way")
        }
        for message in messages {
            try self.require(message.count <= Self.maximumFrame, "a message longer than a frame")
        }
        return (messages, decoder.failure)
    }

    /// Messages from the input (each a length byte and up to that many bytes), sealed as a
    /// device would; one frame may then be corrupted (a bit, a cut, garbage, a replay). The
    /// receiver, fed in random chunks, must deliver every message before the corrupted frame
    /// in order, and all of them when nothing was corrupted.
    func checkChannel(_ input: [UInt8]) throws(PropertyViolation) -> Verdict {
        var messages: [[UInt8]] = []
        var index = 0
        while index < input.count, messages.count < 64 {
            let length = Int(input[index])
            let end = min(input.count, index + 1 + length)
            messages.append(Array(input[(index + 1)..<end]))
            index = end
        }
        var device = SecureChannel(keys: Self.sessionKeys)
        var frames: [[UInt8]] = []
        for message in messages {
            do {
                frames.append(try device.seal(message))
            } catch {
                throw self.violation("sealing \(message.count) bytes failed: \(error)")
            }
        }
        var generator = SplitMix64(hashing: input)
        var corrupted: Int?
        if !frames.isEmpty, generator.below(2) == 0 {
            let target = generator.below(frames.count)
            corrupted = target
            var frame = frames[target]
            switch generator.below(4) {
            case 0: frame[generator.below(frame.count)] ^= 1 << UInt8(generator.below(8))
            case 1: frame.removeLast(1 + generator.below(frame.count - 1))
            case 2: frame = (0..<(1 + generator.below(40))).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
            default: frame = target > 0 ? frames[target - 1] : frame.reversed()
            }
            // A corruption that leaves the frame as it was is no corruption.
            if frame == frames[target] { corrupted = nil }
            frames[target] = frame
        }
        let stream = Array(frames.joined())
        var receiver = SecureChannel(keys: Self.sessionKeys, maximumFrameLength: Self.maximumFrame)
        var received: [[UInt8]] = []
        var offset = 0
        while offset < stream.count {
            let end = min(stream.count, offset + 1 + generator.below(200))
            do {
                received += try receiver.receive(stream[offset..<end])
            } catch {
                break
            }
            if receiver.failure != nil { break }
            offset = end
        }
        let intact = corrupted ?? messages.count
        try self.require(received.count >= intact, "\(received.count) of \(intact) intact messages came through")
        try self.require(
            Array(received.prefix(intact)) == Array(messages.prefix(intact)),
            "the intact messages came through changed"
        )
        if corrupted == nil {
            try self.require(received.count == messages.count && receiver.failure == nil, "an intact stream failed")
        }
        return corrupted == nil ? .accepted : .rejected
    }
}
