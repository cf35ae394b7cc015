import AerosolModels
import CoAP
import DeviceProtocol
import Firmware
import NIOCore

/// Firmware updates on the device's connection: a ``FirmwareTransfer`` driven on the event loop.
/// The transfer's messages share the session's message IDs; messages from the device that the
/// transfer claims never reach the session. The transfer does not know the transport: it gets
/// the connection as a ``TransferConnection`` and hands back CoAP messages to write.
extension DeviceChannelHandler {
    /// What validating a file for this device needs: its Hello and last system Describe; `nil`
    /// before Hello.
    var firmwareProfile: DeviceProfile? {
        guard let session, session.isEstablished, let hello = session.hello else { return nil }
        return DeviceProfile(
            platformID: firmware.platformID ?? hello.platformID ?? 0,
            helloFlags: hello.flags.rawValue,
            systemVersion: hello.systemVersion,
            maximumMessageSize: hello.maximumMessageSize.map(Int.init),
            maximumBinarySize: hello.maximumBinarySize.map(Int.init),
            otaChunkSize: hello.otaChunkSize.map(Int.init),
            installedModules: firmware.modules
        )
    }

    /// Starts sending `image` (validated as `validated` for `profile`); `promise` succeeds once
    /// the first messages are written, or fails if the device is gone or a transfer runs.
    func startFirmwareUpdate(
        image: any FirmwareImage,
        validated: ValidatedFirmware,
        profile: DeviceProfile,
        promise: EventLoopPromise<Void>
    ) {
        guard context != nil, !closing, var session, session.isEstablished else {
            promise.fail(GatewayError.notConnected())
            return
        }
        guard firmware.transfer == nil else {
            promise.fail(GatewayError.busy("an update to this device is already running"))
            return
        }
        guard let token = session.reserveFirmwareToken() else {
            promise.fail(GatewayError.busy("255 requests to this device are waiting for its answer already"))
            return
        }
        self.session = session
        firmware.transfer = FirmwareTransfer(
            image: image,
            firmware: validated,
            device: profile,
            configuration: gateway.settings.firmwareTransfer
        )
        firmware.sending = validated
        firmware.token = token
        firmware.progress = nil
        logger.info(
            "firmware update started",
            metadata: [
                "firmware.size": "\(validated.size)",
                "firmware.protocol": "\(firmware.transfer!.otaProtocol)",
            ]
        )
        announceFlashStatus(FlashStatus.started.eventData)
        promise.succeed(())
        let connection = TransferConnection(transport: .tcp, token: token)
        driveTransfer { $0.start(on: connection, at: .now, messageIDs: $1) }
        flushIfNeeded()
    }

    /// Cancels the running transfer, if any; `false` if there is none.
    func cancelFirmwareUpdate() -> Bool {
        guard firmware.transfer != nil else { return false }
        driveTransfer { $0.cancel(at: .now, messageIDs: $1) }
        flushIfNeeded()
        return true
    }

    /// How far the running transfer has got, if one runs.
    var firmwareProgress: TransferProgress? {
        firmware.transfer == nil ? nil : firmware.progress
    }

    /// Offers a message from the device to the running transfer; `true` if it took it.
    func firmwareClaims(_ bytes: [UInt8]) -> Bool {
        guard let transfer = firmware.transfer, let message = try? CoAPMessage(decoding: bytes),
            transfer.claims(message)
        else { return false }
        driveTransfer { $0.receive(message, at: .now, messageIDs: $1) }
        return true
    }

    /// The connection ended: a transfer on it waits for the device's next connection (see
    /// ``resumeFirmwareUpdate()``), unless it is over by that.
    func firmwareConnectionEnded() {
        firmware.timer?.cancel()
        firmware.timer = nil
        guard var transfer = firmware.transfer, let deviceID else { return }
        let actions = transfer.disconnected(at: .now)
        for case .finished(let outcome) in actions {
            finishFirmwareUpdate(outcome)
            return
        }
        firmware.transfer = nil
        session?.releaseFirmwareToken(firmware.token)
        let deadline = ContinuousClock.now + gateway.settings.firmwareTransfer.reconnectTimeout
        gateway.updates.interrupted(deviceID, transfer: transfer, until: deadline)
        logger.info("firmware transfer interrupted: it goes on when the device is back")
    }

    /// The device is online on this connection: a transfer its previous connection left goes
    /// on (v3 from what the device kept, legacy from the start).
    func resumeFirmwareUpdate() {
        guard firmware.transfer == nil, let deviceID, var session, session.isEstablished,
            let transfer = gateway.updates.resume(deviceID, at: .now)
        else { return }
        guard let token = session.reserveFirmwareToken() else {
            gateway.updates.release(deviceID)
            announceFlashStatus(FlashStatus.failed.eventData + "no token free to resume the update")
            return
        }
        self.session = session
        firmware.transfer = transfer
        firmware.token = token
        logger.info("firmware transfer resumed")
        let connection = TransferConnection(transport: .tcp, token: token)
        driveTransfer { $0.connected(connection, at: .now, messageIDs: $1) }
        flushIfNeeded()
    }

    /// The device described its system: remember its modules, and if it restarted to apply an
    /// update, tell from them whether it runs it.
    func firmwareDescribed(_ describe: Describe) {
        guard describe.hasSystemPart else { return }
        if let platform = describe.platformID { firmware.platformID = UInt16(exactly: platform) }
        let modules = (describe.modules ?? []).compactMap { module in
            InstalledModule(
                describeFunction: module.function ?? "",
                index: module.index ?? "0",
                version: module.version ?? 0,
                hash: module.hash,
                validationsPerformed: module.validationsPerformed,
                validationsPassed: module.validationsPassed
            )
        }
        firmware.modules = modules
        if firmware.transfer != nil {
            // A legacy transfer whose last answer was lost tells from this whether it got through.
            driveTransfer { $0.described(modules, at: .now, messageIDs: $1) }
            flushIfNeeded()
        }
        guard let deviceID, let sent = gateway.updates.restarted(deviceID) else { return }
        switch UpdateVerification(sent: sent, described: modules) {
        case .applied:
            logger.info("firmware update applied")
            announceFlashStatus(FlashStatus.success.eventData)
        case .safeMode(let reason), .notApplied(let reason), .unknown(let reason):
            logger.info("firmware update not applied", metadata: ["reason": "\(reason)"])
            announceFlashStatus(FlashStatus.failed.eventData + reason)
        }
    }

    /// Runs one input of the transfer and carries out its actions.
    private func driveTransfer(_ input: (inout FirmwareTransfer, () -> UInt16) -> [TransferAction]) {
        guard var transfer = firmware.transfer, var session else { return }
        firmware.transfer = nil
        let actions = input(&transfer) { session.nextMessageID() }
        self.session = session
        firmware.transfer = transfer
        performTransfer(actions)
    }

    private func performTransfer(_ actions: [TransferAction]) {
        for action in actions {
            switch action {
            case .send(let message):
                write(message)
            case .deadline(let instant):
                firmware.timer?.cancel()
                firmware.timer = nil
                guard let instant, let context else { continue }
                let delay = max(.zero, instant - .now)
                firmware.timer = context.eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(delay)) {
                    self.firmware.timer = nil
                    self.driveTransfer { $0.timerFired(at: .now, messageIDs: $1) }
                    self.flushIfNeeded()
                }
            case .flush:
                // Back-pressure: the transfer hears "flushed" once the socket took the burst.
                guard let context else { continue }
                needsFlush = false
                let written = context.eventLoop.makePromise(of: Void.self)
                context.writeAndFlush(wrapOutboundOut(ByteBuffer()), promise: written)
                written.futureResult.assumeIsolated().whenSuccess {
                    self.driveTransfer { $0.flushed(at: .now, messageIDs: $1) }
                    self.flushIfNeeded()
                }
            case .progress(let progress):
                firmware.progress = progress
            case .finished(let outcome):
                finishFirmwareUpdate(outcome)
            }
        }
    }

    private func finishFirmwareUpdate(_ outcome: TransferOutcome) {
        firmware.timer?.cancel()
        firmware.timer = nil
        firmware.transfer = nil
        session?.releaseFirmwareToken(firmware.token)
        guard let deviceID else { return }
        switch outcome {
        case .success:
            // Success is announced when the device is back and describes the new module.
            logger.info("firmware transferred; the device restarts to apply it")
            gateway.updates.transferred(deviceID, until: .now + gateway.settings.firmwareRestartTimeout)
        case .failure(let reason):
            logger.info("firmware update failed", metadata: ["reason": "\(reason)"])
            gateway.updates.release(deviceID)
            announceFlashStatus(FlashStatus.failed.eventData + reason)
        }
    }

    /// Appends `spark/flash/status` with `data` to the device's streams, after the previous one.
    private func announceFlashStatus(_ data: String) {
        guard let deviceID, let context else { return }
        let gateway = self.gateway
        let logger = self.logger
        let loop = context.eventLoop
        let previous = firmware.announcement ?? loop.makeSucceededVoidFuture()
        let next = previous.flatMap {
            loop.makeFutureWithTask {
                guard let device = try await gateway.devices.find(id: deviceID) else { return }
                try await gateway.announce(FlashStatus.eventName, data: data, device: device)
            }
        }
        .flatMapErrorThrowing { error in
            logger.error("could not publish spark/flash/status", metadata: ["reason": "\(error)"])
        }
        firmware.announcement = next
    }
}
