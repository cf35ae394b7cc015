import Firmware
import NIOCore

/// What firmware updates need beyond one connection: the event, the wait for a device that
/// restarts to apply an update, and the automatic updates waiting for a free slot.
extension GatewayContext {
    /// Appends `spark/flash/status` with `data` about `deviceID` (nothing if it was deleted).
    func announceFlashStatus(_ data: String, deviceID: String) async throws {
        guard let device = try await devices.find(id: deviceID) else { return }
        try await announce(FlashStatus.eventName, data: data, device: device)
    }

    /// The transfer to `deviceID` succeeded: the device restarts and must describe the new
    /// module within ``GatewaySettings/firmwareRestartTimeout``. If it has not by then, the
    /// update is `failed` and the device may take another one.
    func awaitRestart(_ deviceID: String, on loop: any EventLoop) {
        let timeout = settings.firmwareRestartTimeout
        guard let generation = updates.transferred(deviceID, until: .now + timeout) else { return }
        loop.scheduleTask(in: TimeAmount(timeout)) {
            guard self.updates.expire(deviceID, generation: generation) else { return }
            self.restartTimedOut(deviceID, after: timeout)
        }
    }

    private func restartTimedOut(_ deviceID: String, after timeout: Duration) {
        let reason = "the device did not come back with the new firmware within \(timeout)"
        logger.info(
            "firmware update failed",
            metadata: ["device.id": "\(deviceID)", "reason": "\(reason)"]
        )
        let gateway = self
        Task {
            do {
                try await gateway.announceFlashStatus(FlashStatus.failed.eventData + reason, deviceID: deviceID)
            } catch {
                gateway.logger.error("could not publish spark/flash/status", metadata: ["reason": "\(error)"])
            }
        }
        startWaitingUpdates()
    }

    /// A slot for automatic updates may have freed: the devices waiting for one (oldest first)
    /// try again, as many as there are free slots. A device no longer online is dropped from
    /// the queue (it is checked again when it connects).
    func startWaitingUpdates() {
        for deviceID in updates.takeWaiting(limit: settings.otaConcurrency) {
            guard let link = registry.link(deviceID) else { continue }
            link.retryAutomaticUpdate()
        }
    }
}
