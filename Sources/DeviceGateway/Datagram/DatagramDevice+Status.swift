import AerosolModels
import CoAP
import DeviceProtocol
import Foundation
import NIOCore

/// Who the device is (its Hello), online and offline, device events and Describe: the steps
/// that read or write the store, each a busy step.
extension DatagramDevice {
    /// The first message of a new session must be the device's Hello, which names it: its key
    /// (proven in the handshake) must be the one provisioned for that ID. Anything else, an
    /// unknown device or another key: a CoAP RST, on which Device OS discards its session.
    func identify(_ bytes: [UInt8]) {
        guard let message = try? CoAPMessage(decoding: bytes) else { return }
        guard message.code == .post, message.uriPath.first == "h",
            let hello = try? Hello(payload: message.payload), hello.deviceID.count == 12
        else {
            refuse(message, "its first message is not a Hello")
            return
        }
        let id = hello.deviceID.map { String(format: "%02x", $0) }.joined()
        logger[metadataKey: "device.id"] = "\(id)"
        let keys = gateway.keys
        let presented = dtls.peerPublicKeyDER
        step(eventLoop.makeFutureWithTask { try await keys.publicKey(deviceID: id) }) { result in
            switch result {
            case .failure(let error):
                self.logger.error("could not read the device's key", metadata: ["reason": "\(error)"])
                self.refuse(message, nil)
            case .success(nil):
                self.refuse(message, "no public key is provisioned for it")
            case .success(let stored?):
                guard let key = try? ECDevicePublicKey(pemRepresentation: stored) else {
                    self.refuse(message, "its provisioned key is not an EC key (the device is a TCP device)")
                    return
                }
                guard key.derRepresentation == presented else {
                    self.refuse(message, "its key differs from the provisioned one")
                    return
                }
                self.deviceID = id
                self.maximumMessageSize = Int(hello.maximumMessageSize ?? UInt16(Self.defaultMaximumMessageSize))
                // The Hello is handled now that the device is known.
                self.inbox.insert(bytes, at: 0)
                self.armSilenceTimer()
                self.persist()
            }
        }
    }

    /// A known device sends again after being offline: its provisioned key must still be the
    /// one its session was made with, else the session is refused (RST to `first`, if it is a
    /// CON) and forgotten.
    func resume(_ hello: Hello, deviceID: String, first: [UInt8]) {
        let keys = gateway.keys
        let presented = dtls.peerPublicKeyDER
        step(eventLoop.makeFutureWithTask { try await keys.publicKey(deviceID: deviceID) }) { result in
            let message = try? CoAPMessage(decoding: first)
            let stored: String?
            switch result {
            case .failure(let error):
                self.logger.error("could not read the device's key", metadata: ["reason": "\(error)"])
                self.inbox.removeAll()
                return
            case .success(let value):
                stored = value
            }
            guard let stored, let key = try? ECDevicePublicKey(pemRepresentation: stored),
                key.derRepresentation == presented
            else {
                let reason = "its session is for a key no longer provisioned (released, deleted or re-keyed)"
                if let message {
                    self.refuse(message, reason)
                } else {
                    self.logger.warning("device refused: \(reason)")
                    self.end(reason, notify: true)
                }
                return
            }
            self.goOnline(hello, deviceID: deviceID)
        }
    }

    private func refuse(_ message: CoAPMessage, _ reason: String?) {
        if let reason { logger.warning("device refused: \(reason)") }
        if message.type == .confirmable {
            send(CoAPMessage(type: .reset, code: .empty, messageID: message.messageID))
        }
        end(reason ?? "refused", notify: false)
    }

    func goOnline(_ hello: Hello, deviceID: String) {
        guard let serial = gateway.registry.reserveSerial() else { return }
        self.serial = serial
        if let size = hello.maximumMessageSize { maximumMessageSize = Int(size) }
        let link = DeviceLink(
            deviceID: deviceID,
            serial: serial,
            eventLoop: eventLoop,
            endpoint: self,
            transport: .udp,
            metrics: gateway.metrics
        )
        self.link = link
        isOnline = true
        let gateway = self.gateway
        let address = peer?.ipAddress
        let future = eventLoop.makeFutureWithTask {
            try await gateway.recordOnline(link, address: address, hello: hello)
        }
        onlineRecorded = future
        armSilenceTimer()
        step(future) { result in
            switch result {
            case .success(let device):
                self.ownerID = device.ownerID
                self.productID = device.productID
                self.updateSubscriptions()
                self.persist()
                self.resumeFirmwareUpdate()
                self.autoUpdateIfNeeded()
                self.logger.info(
                    "device online",
                    metadata: [
                        "device.platform": "\(hello.platformID.map(String.init) ?? "-")",
                        "device.transport": "udp",
                        "device.address": "\(self.peer.map { "\($0)" } ?? "-")",
                    ]
                )
            case .failure(let error):
                self.logger.error("could not record the device online", metadata: ["reason": "\(error)"])
                self.isOnline = false
                self.inbox.removeAll()
            }
        }
    }

    /// Reports the device offline; its session stays, to be resumed.
    func goOffline(_ reason: String) {
        guard isOnline, let deviceID else { return }
        isOnline = false
        silenceTimer?.cancel()
        silenceTimer = nil
        firmwareConnectionEnded()
        failWaiters("the device went offline")
        gateway.router.remove(serial)
        let gateway = self.gateway
        let serial = self.serial
        let logger = self.logger
        let recorded = onlineRecorded
        let lastHeard = lastHeardDate
        gateway.registry.finish(serial) {
            _ = try? await recorded?.get()
            // Not cancellable: a device taken offline by the shutdown is still reported.
            await Task {
                do {
                    if try await gateway.recordOffline(deviceID: deviceID, serial: serial, lastHeard: lastHeard) {
                        logger.info("device offline", metadata: ["reason": "\(reason)"])
                    }
                } catch {
                    logger.error("could not record the device offline", metadata: ["reason": "\(error)"])
                }
            }.value
        }
    }

    /// Appends the event, then acknowledges it.
    func publish(_ event: DevicePublish, acknowledgement: CoAPMessage?) {
        guard let deviceID else { return }
        let gateway = self.gateway
        let future = eventLoop.makeFutureWithTask { try await gateway.appendDeviceEvent(event, deviceID: deviceID) }
        step(future) { result in
            switch result {
            case .success:
                if let acknowledgement { self.send(acknowledgement) }
            case .failure(let error):
                self.logger.warning(
                    "device event not logged",
                    metadata: ["event.name": "\(event.name)", "reason": "\(error)"]
                )
                if let acknowledgement {
                    self.send(
                        CoAPMessage(
                            type: .acknowledgement,
                            code: .serviceUnavailable,
                            messageID: acknowledgement.messageID
                        )
                    )
                }
            }
        }
    }

    /// Records a Describe.
    func described(_ describe: Describe, document: [UInt8]) {
        guard let deviceID else { return }
        firmwareDescribed(describe)
        if describe.hasApplicationPart {
            application = describe
            applicationDocument = document
            persist()
        }
        let gateway = self.gateway
        let future = eventLoop.makeFutureWithTask {
            try await gateway.recordDescribe(describe, document: document, deviceID: deviceID)
        }
        step(future) { result in
            if case .failure(let error) = result {
                self.logger.error("could not record the device's Describe", metadata: ["reason": "\(error)"])
            }
        }
    }

    /// Hands the session's subscriptions to the gateway's router.
    func updateSubscriptions() {
        guard let link, isOnline, !session.subscriptions.isEmpty else { return }
        gateway.router.update(link, ownerID: ownerID, productID: productID, subscriptions: session.subscriptions)
    }
}
