import DeviceProtocol
import NIOCore
import NIOPosix

/// The handshake: each step of the state machine runs on the thread pool, because the
/// RSA private-key operations take milliseconds that the event loop must not spend.
extension DeviceChannelHandler {
    /// Feeds the bytes received so far to the handshake.
    func advanceHandshake() {
        guard let context, let handshake, !handshakeBytes.isEmpty else { return }
        let bytes = handshakeBytes
        handshakeBytes = []
        let future = NIOThreadPool.singleton.runIfActive(eventLoop: context.eventLoop) {
            var handshake = handshake
            let action = handshake.receive(bytes)
            return (handshake, action)
        }
        step(future) { self.stepped($0) }
    }

    private func stepped(_ result: Result<(ServerHandshake, ServerHandshake.Action), any Error>) {
        switch result {
        case .failure(let error):
            logger.warning("device handshake failed", metadata: ["reason": "\(error)"])
            gateway.metrics.handshake(.tcp, .failed)
            close(nil)
        case .success((let handshake, let action)):
            self.handshake = handshake
            carryOut(action)
        }
    }

    private func carryOut(_ action: ServerHandshake.Action) {
        guard let context else { return }
        switch action {
        case .wait:
            break
        case .send(let bytes):
            context.write(wrapOutboundOut(ByteBuffer(bytes: bytes)), promise: nil)
            needsFlush = true
        case .lookUpDeviceKey(let id, let presented):
            lookUpKey(id, presented: presented)
        case .establish(let reply, let result):
            context.write(wrapOutboundOut(ByteBuffer(bytes: reply)), promise: nil)
            needsFlush = true
            handshake = nil
            gateway.metrics.handshake(.tcp, .completed)
            secure = result.makeChannel(maximumFrameLength: gateway.settings.maxFrameBytes)
            session = DeviceSession(settings: gateway.settings, deviceMessageIDs: result.deviceMessageIDs)
            let early = result.leftover + handshakeBytes
            handshakeBytes = []
            if !early.isEmpty { receive(early) }
        case .fail(let error):
            logger.warning("device handshake failed", metadata: ["reason": "\(error)"])
            gateway.metrics.handshake(.tcp, .failed)
            close(nil)
        }
    }

    /// Looks up the provisioned key; a device without one, or presenting another, is refused.
    private func lookUpKey(_ id: DeviceID, presented: DevicePublicKey?) {
        guard let context else { return }
        let deviceID = id.hexString
        self.deviceID = deviceID
        logger[metadataKey: "device.id"] = "\(deviceID)"
        let keys = gateway.keys
        let loop = context.eventLoop
        step(loop.makeFutureWithTask { try await keys.publicKey(deviceID: deviceID) }) { result in
            let stored: String?
            switch result {
            case .failure(let error):
                self.logger.error("could not read the device's key", metadata: ["reason": "\(error)"])
                self.close(nil)
                return
            case .success(let value):
                stored = value
            }
            guard let stored, let key = try? DevicePublicKey(pemRepresentation: stored) else {
                if let stored, (try? ECDevicePublicKey(pemRepresentation: stored)) != nil {
                    self.logger.warning("device refused: its provisioned key is an EC key (the device is a UDP device)")
                } else {
                    self.logger.warning("device refused: no public key is provisioned for it")
                }
                self.close(nil)
                return
            }
            if let presented, presented != key {
                self.logger.warning("device refused: its key differs from the provisioned one")
                self.close(nil)
                return
            }
            guard let handshake = self.handshake else { return }
            let future = NIOThreadPool.singleton.runIfActive(eventLoop: loop) {
                var handshake = handshake
                let action = handshake.deviceKeyResolved(key)
                return (handshake, action)
            }
            self.step(future) { self.stepped($0) }
        }
    }
}
