import Testing

@testable import DeviceProtocol

/// Seeded random, split, truncated and corrupted input for the server handshake (issue 3, "bad
/// input"): whatever the device sends, `ServerHandshake` waits only while it has fewer than 256
/// bytes, then asks for the device's key or fails, and after a failure it stays failed. Every
/// RSA decryption costs milliseconds in a debug build, so the inputs that reach it are few and
/// chosen; the cheap paths get thousands.
@Suite struct HandshakeFuzzTests {
    let serverKey: ServerKey
    let nonce = (0..<40).map { UInt8($0) }
    let block = hex(Fixtures.blockHex)
    let deviceID = DeviceID(hex: "0123456789abcdef01234567")!

    init() throws {
        self.serverKey = try ServerKey(pemRepresentation: Fixtures.serverPKCS1PEM)
    }

    private func started() -> ServerHandshake {
        var handshake = ServerHandshake(serverKey: self.serverKey, nonce: self.nonce)
        _ = handshake.start()
        return handshake
    }

    /// After a failure, every further input fails as unexpected.
    private func expectStaysFailed(_ handshake: inout ServerHandshake) {
        #expect(handshake.receive([0x00]).failure == .unexpectedInput)
        #expect(handshake.receive(self.block).failure == .unexpectedInput)
        #expect(handshake.deviceKeyResolved(nil).failure == .unexpectedInput)
        #expect(handshake.start().failure == .unexpectedInput)
    }

    @Test func fewerThan256BytesAlwaysWaitInAnySplit() {
        var generator = SplitMix64(seed: 0x4A11)
        for _ in 0..<3000 {
            var handshake = self.started()
            var fed = 0
            let total = Int(generator.next() % 256)
            while fed < total {
                let count = min(total - fed, 1 + Int(generator.next() % 64))
                let chunk = (0..<count).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
                #expect(handshake.receive(chunk).isWait)
                fed += count
            }
        }
    }

    @Test func theValidBlockInRandomSplitsWithTrailingBytes() throws {
        var generator = SplitMix64(seed: 0x5B17)
        for _ in 0..<6 {
            var handshake = self.started()
            let extra = (0..<Int(generator.next() % 40)).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
            let stream = self.block + extra
            var index = 0
            var outcome: ServerHandshake.Action = .wait
            while index < stream.count, outcome.isWait {
                let end = min(stream.count, index + 1 + Int(generator.next() % 90))
                outcome = handshake.receive(stream[index..<end])
                index = end
            }
            guard case .lookUpDeviceKey(let id, let presented) = outcome else {
                Issue.record("expected the key lookup, got \(outcome)")
                continue
            }
            #expect(id == self.deviceID)
            // Bytes arriving during the lookup are kept for the channel, with the rest.
            let late = Array(stream[index...]) + [0xEE]
            #expect(handshake.receive(late).isWait)
            guard case .establish(let reply, let result) = handshake.deviceKeyResolved(presented) else {
                Issue.record("expected establish")
                continue
            }
            #expect(reply.count == 384)
            #expect(result.leftover == extra + [0xEE])
            self.expectStaysFailedAfterDone(&handshake)
        }
    }

    /// A completed handshake takes no more input either.
    private func expectStaysFailedAfterDone(_ handshake: inout ServerHandshake) {
        #expect(handshake.receive([0x01]).failure == .unexpectedInput)
    }

    @Test func blocksAboveTheModulusFailWithoutRSA() {
        var generator = SplitMix64(seed: 0xFFFF)
        for _ in 0..<2000 {
            var handshake = self.started()
            var bytes = (0..<256).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
            bytes[0] = 0x8B | bytes[0]  // the modulus starts 0x8a 0x12: every such block is above it
            #expect(handshake.receive(bytes).failure == .handshakeDecryptionFailed)
            self.expectStaysFailed(&handshake)
        }
    }

    @Test func corruptedBlocksFail() {
        var generator = SplitMix64(seed: 0xB10C)
        var corrupted: [[UInt8]] = [
            [UInt8](repeating: 0, count: 256),  // 0^d = 0: no padding
            [UInt8](repeating: 0, count: 255) + [1],  // 1^d = 1
            [0] + [UInt8](repeating: 0x42, count: 255),
        ]
        for _ in 0..<12 {
            var bytes = self.block
            let flips = 1 + Int(generator.next() % 3)
            for _ in 0..<flips {
                bytes[Int(generator.next() % 256)] ^= 1 << UInt8(generator.next() % 8)
            }
            corrupted.append(bytes)
        }
        for bytes in corrupted {
            var handshake = self.started()
            let action = handshake.receive(bytes)
            guard case .fail(let error) = action else {
                Issue.record("a corrupted block was accepted: \(action)")
                continue
            }
            #expect([.handshakeDecryptionFailed, .handshakePlaintextSize, .nonceMismatch].contains(error))
            self.expectStaysFailed(&handshake)
        }
    }

    /// Well-formed RSA blocks whose plaintext is wrong: every size but 52 and 214, a wrong
    /// nonce, a key that is not a key.
    @Test func wellFormedBlocksWithWrongContents() throws {
        let serverPublic = try DevicePublicKey(derRepresentation: self.serverKey.publicKeyDER)
        var generator = SplitMix64(seed: 0xC0DE)
        let id = self.deviceID.bytes
        let key = hex(Fixtures.deviceSPKIHex)
        let cases: [([UInt8], DeviceProtocolError)] = [
            ([], .handshakePlaintextSize),
            (self.nonce, .handshakePlaintextSize),
            (self.nonce + id.dropLast(), .handshakePlaintextSize),
            (self.nonce + id + [0], .handshakePlaintextSize),
            (self.nonce + id + key.dropLast(), .handshakePlaintextSize),
            (self.nonce + id + key + [0], .handshakePlaintextSize),
            (self.nonce + id + key + [UInt8](repeating: 1, count: 31), .handshakePlaintextSize),  // 245, the most
            (Array(self.nonce.reversed()) + id + key, .nonceMismatch),
            (self.nonce + id + [UInt8](repeating: 0x30, count: 162), .invalidDeviceKey),
            (self.nonce + id + [0x30, 0x81, 0x9f] + [UInt8](repeating: 0, count: 159), .invalidDeviceKey),
        ]
        for (plaintext, expected) in cases {
            var handshake = self.started()
            let encrypted = try serverPublic.encrypt(plaintext, using: &generator)
            #expect(handshake.receive(encrypted).failure == expected, "plaintext of \(plaintext.count) bytes")
            self.expectStaysFailed(&handshake)
        }
    }

    @Test func keyResolutionOutOfOrderFails() {
        var fresh = ServerHandshake(serverKey: self.serverKey, nonce: self.nonce)
        #expect(fresh.deviceKeyResolved(nil).failure == .unexpectedInput)
        var waiting = self.started()
        #expect(waiting.receive([1, 2, 3]).isWait)
        #expect(waiting.deviceKeyResolved(nil).failure == .unexpectedInput)
        self.expectStaysFailed(&waiting)
    }
}
