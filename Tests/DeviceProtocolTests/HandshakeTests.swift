import Crypto
import Foundation
import Testing

@testable import DeviceProtocol

@Suite struct HandshakeTests {
    let serverKey: ServerKey
    let deviceKey: DevicePublicKey
    let deviceID = DeviceID(hex: "0123456789abcdef01234567")!
    let nonce = (0..<40).map { UInt8($0) }

    init() throws {
        self.serverKey = try ServerKey(pemRepresentation: Fixtures.serverPKCS1PEM)
        self.deviceKey = try DevicePublicKey(derRepresentation: hex(Fixtures.deviceSPKIHex))
    }

    /// Drives a fresh handshake up to the key lookup with the Python-made block, split in two.
    private func handshakeAtLookup() -> (ServerHandshake, ServerHandshake.Action) {
        var handshake = ServerHandshake(serverKey: self.serverKey, nonce: self.nonce)
        guard case .send(let sent) = handshake.start() else {
            Issue.record("expected the nonce")
            return (handshake, .wait)
        }
        #expect(sent == self.nonce)
        let block = hex(Fixtures.blockHex)
        #expect(block.count == 256)
        guard case .wait = handshake.receive(block[0..<100]) else {
            Issue.record("expected to wait")
            return (handshake, .wait)
        }
        let action = handshake.receive(block[100...])
        return (handshake, action)
    }

    @Test func pythonBlockDecryptsAndNamesTheDevice() {
        let (_, action) = self.handshakeAtLookup()
        guard case .lookUpDeviceKey(let id, let presented) = action else {
            Issue.record("unexpected \(action)")
            return
        }
        #expect(id == self.deviceID)
        #expect(presented == self.deviceKey)
    }

    @Test func pythonSignatureAndHMACMatch() throws {
        let ciphertext = hex(Fixtures.ctHex)
        let material = hex(Fixtures.RHex)
        let mac = Array(HMAC<Insecure.SHA1>.authenticationCode(for: ciphertext, using: SymmetricKey(data: material)))
        #expect(mac == hex(Fixtures.macHex))
        let em = RawRSA.padType1(mac, length: 256)
        #expect(em.count == 256)
        #expect(Array(em[0..<2]) == [0x00, 0x01])
        #expect(em[2..<235].allSatisfy { $0 == 0xFF })
        #expect(em[235] == 0x00)
        #expect(Array(em[236...]) == mac)
        #expect(try self.serverKey.signRaw(mac) == hex(Fixtures.sigHex))
    }

    @Test func deterministicReplyIsAcceptedByTheDevice() throws {
        var (handshake, _) = self.handshakeAtLookup()
        let keys = try SessionKeys(material: hex(Fixtures.RHex))
        var generator = SplitMix64(seed: 42)
        let action = handshake.deviceKeyResolved(self.deviceKey, sessionKeys: keys, using: &generator)
        guard case .establish(let reply, let result) = action else {
            Issue.record("unexpected \(action)")
            return
        }
        #expect(reply.count == 384)
        #expect(result.deviceID == self.deviceID)
        #expect(result.sessionKeys == keys)
        #expect(result.leftover.isEmpty)

        // Same generator seed, same bytes: the step is deterministic.
        var (again, _) = self.handshakeAtLookup()
        var generator2 = SplitMix64(seed: 42)
        guard
            case .establish(let reply2, _) = again.deviceKeyResolved(
                self.deviceKey,
                sessionKeys: keys,
                using: &generator2
            )
        else {
            Issue.record("second run failed")
            return
        }
        #expect(reply2 == reply)

        let device = try TestDevice(
            id: self.deviceID,
            privateKeyPEM: Fixtures.devicePKCS1PEM,
            serverPublicKeyDER: self.serverKey.publicKeyDER
        )
        #expect(try device.accept(reply) == keys)
        #expect(keys.deviceMessageIDs.current == 0x9350)
    }

    @Test func endToEndWithRandomKeys() throws {
        var device = try TestDevice(
            id: self.deviceID,
            privateKeyPEM: Fixtures.devicePKCS1PEM,
            serverPublicKeyDER: self.serverKey.publicKeyDER
        )
        var server = ServerHandshake(serverKey: self.serverKey)
        guard case .send(let nonce) = server.start() else { throw TestDevice.Failure.badLength }
        #expect(nonce.count == 40)
        let block = try device.answer(nonce: nonce)
        #expect(block.count == 256)
        // Some bytes of the first frame arrive with the block.
        guard case .lookUpDeviceKey(let id, let presented) = server.receive(block + [0x00]) else {
            throw TestDevice.Failure.badLength
        }
        #expect(id == self.deviceID)
        #expect(server.receive([0x20]).isWait)
        guard case .establish(let reply, let result) = server.deviceKeyResolved(presented) else {
            throw TestDevice.Failure.badLength
        }
        #expect(result.leftover == [0x00, 0x20])
        let deviceKeys = try device.accept(reply)
        #expect(deviceKeys == result.sessionKeys)

        // Hello both ways over the channels.
        var deviceChannel = SecureChannel(keys: deviceKeys)
        var serverChannel = result.makeChannel()
        var ids = deviceKeys.deviceMessageIDs
        let hello = Hello(
            productID: 3,
            flags: [.diagnosticsSupport],
            platformID: 3,
            systemVersion: 5002,
            maximumMessageSize: 960,
            maximumBinarySize: 10_485_760,
            otaChunkSize: 512
        )
        .message(messageID: ids.next())
        let frame = try deviceChannel.seal(hello.encoded())
        #expect(Array(frame.prefix(2)) == [0x00, 0x20])
        #expect(try serverChannel.receive(result.leftover).isEmpty)
        let received = try serverChannel.receive(frame.dropFirst(2))
        #expect(received == [try hello.encoded()])
        let reply2 = try serverChannel.seal(Hello.serverMessage(messageID: 0x1001).encoded())
        #expect(try deviceChannel.receive(reply2) == [hex("50 02 10 01 b1 68")])
    }

    @Test func failures() throws {
        // Unknown device.
        var (unknown, _) = self.handshakeAtLookup()
        #expect(unknown.deviceKeyResolved(nil).failure == .unknownDevice)

        // Provisioned key differs from the presented one.
        var (mismatch, _) = self.handshakeAtLookup()
        let other = try DevicePublicKey(derRepresentation: self.serverKey.publicKeyDER)
        #expect(mismatch.deviceKeyResolved(other).failure == .deviceKeyMismatch)

        // Wrong nonce.
        var wrongNonce = ServerHandshake(serverKey: self.serverKey, nonce: Array(repeating: 7, count: 40))
        _ = wrongNonce.start()
        #expect(wrongNonce.receive(hex(Fixtures.blockHex)).failure == .nonceMismatch)

        // Garbage instead of an RSA block.
        var garbage = ServerHandshake(serverKey: self.serverKey, nonce: self.nonce)
        _ = garbage.start()
        #expect(garbage.receive(Array(repeating: 0x42, count: 256)).failure == .handshakeDecryptionFailed)
        #expect(garbage.receive([1]).failure == .unexpectedInput)

        // Bytes before start.
        var early = ServerHandshake(serverKey: self.serverKey, nonce: self.nonce)
        #expect(early.receive([1]).failure == .unexpectedInput)

        // A well-formed block of the wrong plaintext size.
        let serverPublic = try DevicePublicKey(derRepresentation: self.serverKey.publicKeyDER)
        var generator = SplitMix64(seed: 1)
        var wrongSize = ServerHandshake(serverKey: self.serverKey, nonce: self.nonce)
        _ = wrongSize.start()
        let block = try serverPublic.encrypt(self.nonce + [1, 2, 3], using: &generator)
        #expect(wrongSize.receive(block).failure == .handshakePlaintextSize)
    }

    @Test func legacyPlaintextWithoutKeyUsesTheStoredKey() throws {
        let serverPublic = try DevicePublicKey(derRepresentation: self.serverKey.publicKeyDER)
        var generator = SplitMix64(seed: 2)
        var handshake = ServerHandshake(serverKey: self.serverKey, nonce: self.nonce)
        _ = handshake.start()
        let block = try serverPublic.encrypt(self.nonce + self.deviceID.bytes, using: &generator)
        guard case .lookUpDeviceKey(let id, let presented) = handshake.receive(block) else {
            Issue.record("expected lookup")
            return
        }
        #expect(id == self.deviceID)
        #expect(presented == nil)
        guard case .establish = handshake.deviceKeyResolved(self.deviceKey) else {
            Issue.record("expected establish")
            return
        }
    }

    @Test func pkcs1Type2Padding() {
        var generator = SplitMix64(seed: 3)
        let block = RawRSA.padType2([9, 9, 9], length: 128, using: &generator)!
        #expect(block.count == 128)
        #expect(Array(block[0..<2]) == [0, 2])
        #expect(block[2..<124].allSatisfy { $0 != 0 })
        #expect(RawRSA.unpadType2(block) == [9, 9, 9])
        #expect(RawRSA.unpadType2([0, 1] + Array(repeating: 1, count: 20)) == nil)
        #expect(RawRSA.unpadType2([0, 2, 1, 0] + Array(repeating: 1, count: 20)) == nil)  // PS < 8
    }
}

extension ServerHandshake.Action {
    var failure: DeviceProtocolError? {
        if case .fail(let error) = self { return error }
        return nil
    }

    var isWait: Bool {
        if case .wait = self { return true }
        return false
    }
}
