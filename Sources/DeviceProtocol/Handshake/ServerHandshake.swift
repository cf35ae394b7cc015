import Crypto

/// The server side of the RSA handshake as a value-type state machine.
///
/// Drive it with the bytes the device sends and carry out the actions it returns:
///
/// 1. ``start()`` → ``Action/send(_:)`` the 40-byte nonce.
/// 2. ``receive(_:)`` until the 256-byte block is complete → ``Action/lookUpDeviceKey(_:presented:)``.
/// 3. Look up the provisioned key and call ``deviceKeyResolved(_:)`` (pass the presented key to
///    accept it on first connect) → ``Action/establish(send:_:)``: send the 384 bytes and switch
///    to the encrypted channel.
///
/// Any ``Action/fail(_:)`` is final: close the connection and log the reason with the device ID.
public struct ServerHandshake: Sendable {
    /// What the connection must do next.
    public enum Action: Sendable {
        /// Write these bytes to the device.
        case send([UInt8])
        /// Nothing to do until more bytes arrive (or a lookup completes).
        case wait
        /// Look up the public key provisioned for the device, then call
        /// ``ServerHandshake/deviceKeyResolved(_:)``. `presented` is the key the device sent
        /// (`nil` for very old firmware that sends only nonce and ID).
        case lookUpDeviceKey(DeviceID, presented: DevicePublicKey?)
        /// Write these 384 bytes, then run the session on the encrypted channel.
        case establish(send: [UInt8], HandshakeResult)
        /// The handshake failed; close the connection.
        case fail(DeviceProtocolError)
    }

    private enum State: Sendable {
        case initial
        case awaitingBlock([UInt8])
        case awaitingKey(DeviceID, presented: DevicePublicKey?, leftover: [UInt8])
        case done
    }

    /// The size of the device's RSA block.
    public static let deviceBlockSize = 256
    /// The size of the server nonce.
    public static let nonceSize = 40

    private let serverKey: ServerKey
    /// The nonce sent in step 1.
    public let nonce: [UInt8]
    private var state: State = .initial

    /// Creates a handshake with a fresh random nonce.
    public init(serverKey: ServerKey) {
        var generator = SystemRandomNumberGenerator()
        self.init(
            serverKey: serverKey,
            nonce: (0..<Self.nonceSize).map { _ in UInt8.random(in: 0...255, using: &generator) }
        )
    }

    /// Creates a handshake with a given 40-byte nonce (for tests).
    public init(serverKey: ServerKey, nonce: [UInt8]) {
        precondition(nonce.count == Self.nonceSize, "the nonce is 40 bytes")
        self.serverKey = serverKey
        self.nonce = nonce
    }

    /// Step 1: the nonce to send.
    public mutating func start() -> Action {
        guard case .initial = self.state else { return self.fail(.unexpectedInput) }
        self.state = .awaitingBlock([])
        return .send(self.nonce)
    }

    /// Step 2: feed bytes received from the device.
    public mutating func receive(_ bytes: some Collection<UInt8>) -> Action {
        switch self.state {
        case .initial, .done:
            return self.fail(.unexpectedInput)
        case .awaitingKey(let id, let presented, let leftover):
            self.state = .awaitingKey(id, presented: presented, leftover: leftover + bytes)
            return .wait
        case .awaitingBlock(var buffer):
            buffer.append(contentsOf: bytes)
            guard buffer.count >= Self.deviceBlockSize else {
                self.state = .awaitingBlock(buffer)
                return .wait
            }
            let block = Array(buffer[0..<Self.deviceBlockSize])
            let leftover = Array(buffer[Self.deviceBlockSize...])
            return self.open(block, leftover: leftover)
        }
    }

    private mutating func open(_ block: [UInt8], leftover: [UInt8]) -> Action {
        let plaintext: [UInt8]
        do {
            plaintext = try self.serverKey.decrypt(block)
        } catch {
            return self.fail(error)
        }
        guard plaintext.count == 214 || plaintext.count == 52 else { return self.fail(.handshakePlaintextSize) }
        guard plaintext[0..<40].elementsEqual(self.nonce) else { return self.fail(.nonceMismatch) }
        let id = DeviceID(bytes: plaintext[40..<52])!
        var presented: DevicePublicKey?
        if plaintext.count == 214 {
            do {
                presented = try DevicePublicKey(derRepresentation: plaintext[52..<214])
            } catch {
                return self.fail(error)
            }
        }
        self.state = .awaitingKey(id, presented: presented, leftover: leftover)
        return .lookUpDeviceKey(id, presented: presented)
    }

    /// Step 3 with fresh random session keys: `key` is the device's provisioned public key, or
    /// `nil` if none is known.
    public mutating func deviceKeyResolved(_ key: DevicePublicKey?) -> Action {
        var generator = SystemRandomNumberGenerator()
        let material = (0..<40).map { _ in UInt8.random(in: 0...255, using: &generator) }
        return self.deviceKeyResolved(key, sessionKeys: try! SessionKeys(material: material), using: &generator)
    }

    /// Step 3 with given session keys and a generator for the PKCS#1 padding (for tests).
    public mutating func deviceKeyResolved(
        _ key: DevicePublicKey?,
        sessionKeys: SessionKeys,
        using generator: inout some RandomNumberGenerator
    ) -> Action {
        guard case .awaitingKey(let id, let presented, let leftover) = self.state else {
            return self.fail(.unexpectedInput)
        }
        guard let key else { return self.fail(.unknownDevice) }
        if let presented, presented != key { return self.fail(.deviceKeyMismatch) }
        do {
            let ciphertext = try key.encrypt(sessionKeys.material, using: &generator)
            let hmac = HMAC<Insecure.SHA1>.authenticationCode(
                for: ciphertext,
                using: SymmetricKey(data: sessionKeys.material)
            )
            let signature = try self.serverKey.signRaw(Array(hmac))
            self.state = .done
            let result = HandshakeResult(deviceID: id, deviceKey: key, sessionKeys: sessionKeys, leftover: leftover)
            return .establish(send: ciphertext + signature, result)
        } catch {
            return self.fail(error)
        }
    }

    private mutating func fail(_ error: DeviceProtocolError) -> Action {
        self.state = .done
        return .fail(error)
    }
}
