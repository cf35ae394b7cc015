import AerosolModels
import CoAP
import DeviceProtocol
import Foundation
import NIOCore

/// Online and offline (§9), device events (§7.4) and Describe (§7.1): the session actions that
/// write to the database, each a busy step.
extension DeviceChannelHandler {
    func goOnline(_ hello: Hello) {
        guard let context, let deviceID else { return }
        helloDeadline?.cancel()
        maximumMessageSize = Int(hello.maximumMessageSize ?? 1024)
        let link = DeviceLink(
            deviceID: deviceID,
            serial: serial,
            eventLoop: context.eventLoop,
            endpoint: self,
            transport: .tcp,
            metrics: gateway.metrics
        )
        self.link = link
        // Online from here on: if the connection closes before the write below is done, the
        // offline report waits for it (see goOffline).
        online = Online(deviceID: deviceID, lastHeard: Date())
        let gateway = self.gateway
        let address = context.channel.remoteAddress?.ipAddress
        let future = context.eventLoop.makeFutureWithTask {
            try await gateway.recordOnline(link, address: address, hello: hello)
        }
        onlineRecorded = future
        step(future) { result in
            switch result {
            case .success(let device):
                self.online?.ownerID = device.ownerID
                self.online?.productID = device.productID
                self.updateSubscriptions()
                self.resumeFirmwareUpdate()
                self.autoUpdateIfNeeded()
                self.logger.info(
                    "device online",
                    metadata: ["device.platform": "\(hello.platformID.map(String.init) ?? "-")"]
                )
            case .failure(let error):
                self.logger.error("could not record the device online", metadata: ["reason": "\(error)"])
                self.close(nil)
            }
        }
    }

    /// Reports the device offline after its connection closed, unless a newer connection of the
    /// same device has taken over (it owns the status then).
    func goOffline(_ online: Online) {
        let gateway = self.gateway
        let serial = self.serial
        let logger = self.logger
        let recorded = onlineRecorded
        gateway.registry.finish(serial) {
            _ = try? await recorded?.get()
            // Not cancellable: a connection closed by the shutdown still reports its device
            // offline (the lock's wait would throw when the shutdown cancels this task).
            await Task {
                do {
                    let recorded = try await gateway.recordOffline(
                        deviceID: online.deviceID,
                        serial: serial,
                        lastHeard: online.lastHeard
                    )
                    if recorded { logger.info("device offline") }
                } catch {
                    logger.error("could not record the device offline", metadata: ["reason": "\(error)"])
                }
            }.value
        }
    }

    /// Appends the event (with the device's current owner and product), then acknowledges it.
    func publish(_ event: DevicePublish, acknowledgement: CoAPMessage?) {
        guard let context, let deviceID else { return }
        let gateway = self.gateway
        // The owner is read each time: a device claimed while connected publishes to its new
        // owner at once.
        let future = context.eventLoop.makeFutureWithTask {
            try await gateway.appendDeviceEvent(event, deviceID: deviceID)
        }
        step(future) { result in
            switch result {
            case .success:
                if let acknowledgement { self.write(acknowledgement) }
            case .failure(let error):
                self.logger.warning(
                    "device event not logged",
                    metadata: ["event.name": "\(event.name)", "reason": "\(error)"]
                )
                if let acknowledgement {
                    self.write(
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

    /// Records a Describe: functions and variables, the Device OS version, and safe mode (a
    /// module that failed validation) as a `spark/status/safe-mode` event carrying the document.
    func described(_ describe: Describe, document: [UInt8]) {
        guard let context, let deviceID else { return }
        firmwareDescribed(describe)
        if describe.hasApplicationPart { application = describe }
        let gateway = self.gateway
        let future = context.eventLoop.makeFutureWithTask {
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
        guard let link, let online, let session, !session.subscriptions.isEmpty else { return }
        gateway.router.update(
            link,
            ownerID: online.ownerID,
            productID: online.productID,
            subscriptions: session.subscriptions
        )
    }

    /// Reads the device's owner and product again (after a claim, an unclaim or a product
    /// change), for its subscriptions from now on.
    func refreshScope() {
        guard let context, let deviceID, online != nil, !closing else { return }
        let devices = gateway.devices
        step(context.eventLoop.makeFutureWithTask { try await devices.find(id: deviceID) }) { result in
            switch result {
            case .success(let device):
                self.online?.ownerID = device?.ownerID
                self.online?.productID = device?.productID
                self.updateSubscriptions()
            case .failure(let error):
                self.logger.error("could not read the device's owner again", metadata: ["reason": "\(error)"])
            }
        }
    }
}
