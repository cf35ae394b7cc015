import AerosolModels
import CoAP
import DeviceProtocol
import Firmware
import NIOCore

/// Firmware updates on the device's connection or session: a ``FirmwareTransfer`` driven on the
/// event loop, the same for TCP and UDP. The transfer's messages share the session's message
/// IDs; messages from the device that the transfer claims never reach the session. The transfer
/// does not know the transport: it gets the connection as a ``TransferConnection`` and hands
/// back CoAP messages to write (over UDP the session's ``CoAPReliability`` retransmits its CONs
/// and answers duplicates of the device's CONs with the same ACK).
extension FirmwareEndpoint {
    /// What validating a file for this device needs: its Hello and last system Describe; `nil`
    /// before Hello.
    var firmwareProfile: DeviceProfile? {
        guard let session = firmwareSession, session.isEstablished, let hello = session.hello else { return nil }
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
        guard acceptsFirmware, var session = firmwareSession, session.isEstablished else {
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
        firmwareSession = session
        let transfer = FirmwareTransfer(
            image: image,
            firmware: validated,
            device: profile,
            configuration: gateway.settings.firmwareTransfer
        )
        firmware.transfer = transfer
        firmware.sending = validated
        firmware.token = token
        firmware.progress = nil
        logger.info(
            "firmware update started",
            metadata: [
                "firmware.size": "\(validated.size)",
                "firmware.protocol": "\(transfer.otaProtocol)",
                "device.transport": "\(firmwareTransport)",
            ]
        )
        announceFlashStatus(FlashStatus.started.eventData)
        promise.succeed(())
        let connection = TransferConnection(transport: firmwareTransport, token: token)
        driveTransfer { $0.start(on: connection, at: .now, messageIDs: $1) }
        flushFirmwareMessages()
    }

    /// Cancels the running transfer, if any; `false` if there is none.
    func cancelFirmwareUpdate() -> Bool {
        guard firmware.transfer != nil else { return false }
        driveTransfer { $0.cancel(at: .now, messageIDs: $1) }
        flushFirmwareMessages()
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

    /// The connection ended (TCP) or the device went offline (UDP): a transfer on it waits for
    /// the device's next connection (see ``resumeFirmwareUpdate()``), unless it is over by that.
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
        firmwareSession?.releaseFirmwareToken(firmware.token)
        let deadline = ContinuousClock.now + gateway.settings.firmwareTransfer.reconnectTimeout
        gateway.updates.interrupted(deviceID, transfer: transfer, until: deadline)
        logger.info("firmware transfer interrupted: it goes on when the device is back")
    }

    /// The device is online on this connection: a transfer its previous connection left goes
    /// on (v3 from what the device kept, legacy from the start).
    func resumeFirmwareUpdate() {
        guard firmware.transfer == nil, let deviceID, var session = firmwareSession, session.isEstablished,
            let transfer = gateway.updates.resume(deviceID, at: .now)
        else { return }
        guard let token = session.reserveFirmwareToken() else {
            gateway.updates.release(deviceID)
            gateway.startWaitingUpdates()
            announceFlashStatus(FlashStatus.failed.eventData + "no token free to resume the update")
            return
        }
        firmwareSession = session
        firmware.transfer = transfer
        firmware.token = token
        logger.info("firmware transfer resumed")
        let connection = TransferConnection(transport: firmwareTransport, token: token)
        driveTransfer { $0.connected(connection, at: .now, messageIDs: $1) }
        flushFirmwareMessages()
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
            flushFirmwareMessages()
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
        guard var transfer = firmware.transfer, var session = firmwareSession else { return }
        firmware.transfer = nil
        let actions = input(&transfer) { session.nextMessageID() }
        firmwareSession = session
        firmware.transfer = transfer
        performTransfer(actions)
    }

    private func performTransfer(_ actions: [TransferAction]) {
        for action in actions {
            switch action {
            case .send(let message):
                writeFirmwareMessage(message)
            case .deadline(let instant):
                firmware.timer?.cancel()
                firmware.timer = nil
                guard let instant, acceptsFirmware else { continue }
                let delay = max(.zero, instant - .now)
                firmware.timer = firmwareEventLoop.assumeIsolated().scheduleTask(in: TimeAmount(delay)) {
                    self.firmware.timer = nil
                    self.driveTransfer { $0.timerFired(at: .now, messageIDs: $1) }
                    self.flushFirmwareMessages()
                }
            case .flush:
                // Back-pressure: the transfer hears "flushed" once the transport took the burst.
                guard acceptsFirmware else { continue }
                whenFirmwareMessagesTaken {
                    self.driveTransfer { $0.flushed(at: .now, messageIDs: $1) }
                    self.flushFirmwareMessages()
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
        firmwareSession?.releaseFirmwareToken(firmware.token)
        guard let deviceID else { return }
        switch outcome {
        case .success:
            // Success is announced when the device is back and describes the new module; a
            // device that does not come back in time gets `failed` (see awaitRestart).
            logger.info("firmware transferred; the device restarts to apply it")
            gateway.awaitRestart(deviceID, on: firmwareEventLoop)
        case .failure(let reason):
            logger.info("firmware update failed", metadata: ["reason": "\(reason)"])
            gateway.updates.release(deviceID)
            announceFlashStatus(FlashStatus.failed.eventData + reason)
        }
        gateway.startWaitingUpdates()
    }

    /// Appends `spark/flash/status` with `data` to the device's streams, after the previous one.
    func announceFlashStatus(_ data: String) {
        guard let deviceID else { return }
        let gateway = self.gateway
        let logger = self.logger
        let loop = firmwareEventLoop
        let previous = firmware.announcement ?? loop.makeSucceededVoidFuture()
        let next = previous.flatMap {
            loop.makeFutureWithTask {
                try await gateway.announceFlashStatus(data, deviceID: deviceID)
            }
        }
        .flatMapErrorThrowing { error in
            logger.error("could not publish spark/flash/status", metadata: ["reason": "\(error)"])
        }
        firmware.announcement = next
    }
}
