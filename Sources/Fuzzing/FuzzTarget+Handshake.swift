import DeviceProtocol

extension FuzzTarget {
    /// The server key of the handshake target, made once per process.
    static let serverKey = try! ServerKey.generate()
    static let nonce = (0..<40).map { UInt8($0) }
    /// A device key for plaintexts that present none (the 52-byte form).
    static let fallbackDeviceKey = try! DevicePublicKey(
        derRepresentation: FuzzTarget.hex(
            "30819f300d06092a864886f70d010101050003818d0030818902818100eceac293ad1477747aeefabbe62a18d9b9f627"
                + "b976f0634b23d36abbe71e017995bf66c8bc9dd102229edd67ae295b630e71fa5c5c01512d5f25247e93c72e9fa2a3ca"
                + "8946d62e1a2f3334a511446c26581e21a0829a14f27d03d5d4ebf1e2e82bd91b8bc709bbe4fc784c4d85d9c693bb8c1f"
                + "99795039ddd9c70f997b3820f30203010001"
        )
    )

    /// The input is what a device encrypts in step 2 of the handshake (nonce ‖ device ID ‖
    /// key DER, or anything else). It is encrypted to the server key and fed in random chunks,
    /// with random bytes after it. The server must wait while it has fewer than 256 bytes, then
    /// decide exactly as the plaintext says: the wrong size, the wrong nonce or a key that is
    /// not a key fails with that error; otherwise it asks for the device's key, keeps the bytes
    /// that followed the block for the channel, and establishes the session with a 384-byte
    /// reply. After any failure it stays failed.
    func checkHandshake(_ input: [UInt8]) throws(PropertyViolation) -> Verdict {
        guard input.count <= 245 else { return .rejected }  // more than one RSA-2048 block holds
        var generator = SplitMix64(hashing: input)
        let serverPublic: DevicePublicKey
        let block: [UInt8]
        do {
            serverPublic = try DevicePublicKey(derRepresentation: Self.serverKey.publicKeyDER)
            block = try serverPublic.encrypt(input, using: &generator)
        } catch {
            throw self.violation("encrypting the plaintext failed: \(error)")
        }
        let trailing = (0..<generator.below(40)).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
        let stream = block + trailing

        var handshake = ServerHandshake(serverKey: Self.serverKey, nonce: Self.nonce)
        guard case .send(let nonce) = handshake.start(), nonce == Self.nonce else {
            throw self.violation("the handshake did not start by sending the nonce")
        }
        var offset = 0
        var outcome = ServerHandshake.Action.wait
        while offset < stream.count {
            let end = min(stream.count, offset + 1 + generator.below(120))
            outcome = handshake.receive(stream[offset..<end])
            offset = end
            if end < ServerHandshake.deviceBlockSize {
                guard case .wait = outcome else { throw self.violation("acted on \(end) bytes: \(outcome)") }
            } else {
                break
            }
        }
        let late = Array(stream[offset...])

        let expected: DeviceProtocolError?
        var presentedKey: DevicePublicKey?
        if input.count != 52 && input.count != 214 {
            expected = .handshakePlaintextSize
        } else if !input.starts(with: Self.nonce) {
            expected = .nonceMismatch
        } else if input.count == 214 {
            do {
                presentedKey = try DevicePublicKey(derRepresentation: input[52..<214])
                expected = nil
            } catch {
                expected = error
            }
        } else {
            expected = nil
        }

        switch outcome {
        case .fail(let error):
            try self.require(
                error == expected,
                "failed with \(error), the plaintext says \(String(describing: expected))"
            )
            guard case .fail(.unexpectedInput) = handshake.receive([0]) else {
                throw self.violation("a failed handshake took more input")
            }
            return .rejected
        case .lookUpDeviceKey(let id, let presented):
            try self.require(expected == nil, "accepted a plaintext that should fail with \(expected!)")
            try self.require(id.bytes == Array(input[40..<52]), "the device ID is not the plaintext's")
            try self.require(presented == presentedKey, "the presented key is not the plaintext's")
            guard case .wait = handshake.receive(late) else { throw self.violation("late bytes were not kept") }
            let key = presented ?? Self.fallbackDeviceKey
            let keys = try! SessionKeys(material: (0..<40).map { _ in UInt8(truncatingIfNeeded: generator.next()) })
            switch handshake.deviceKeyResolved(key, sessionKeys: keys, using: &generator) {
            case .establish(let reply, let result):
                try self.require(reply.count == key.modulusByteCount + 256, "a reply of \(reply.count) bytes")
                try self.require(result.leftover == trailing, "the bytes after the block were not kept in order")
                try self.require(result.deviceID == id, "the session is for another device")
            case .fail(let error):
                // Only a device key too small to carry the session keys may fail here.
                try self.require(error == .invalidSessionKeys, "establishing failed: \(error)")
            default:
                throw self.violation("establishing asked for something else")
            }
            return .accepted
        default:
            throw self.violation("256 bytes and more gave \(outcome)")
        }
    }

    static func hex(_ text: String) -> [UInt8] {
        var bytes: [UInt8] = []
        var index = text.startIndex
        while index < text.endIndex {
            let next = text.index(index, offsetBy: 2)
            bytes.append(UInt8(text[index..<next], radix: 16)!)
            index = next
        }
        return bytes
    }
}
