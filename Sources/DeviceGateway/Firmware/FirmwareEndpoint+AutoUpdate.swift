import AerosolStore
import DeviceProtocol
import Firmware
import NIOCore

/// Automatic product updates: a product device that comes online with another product firmware
/// version than its product's default release gets that release, with at most
/// ``GatewaySettings/otaConcurrency`` automatic transfers at once; a device that finds every slot
/// taken waits in a queue and starts when one frees (``GatewayContext/startWaitingUpdates()``).
/// A device locked to a version gets that version instead; a development device is never
/// updated automatically.
extension FirmwareEndpoint {
    /// Starts the product's default release on this device if it runs another version.
    func autoUpdateIfNeeded() {
        guard firmware.transfer == nil, let deviceID, let productID = firmwareProductID,
            let files = gateway.firmwareFiles, let profile = firmwareProfile,
            let hello = firmwareSession?.hello, acceptsFirmware
        else { return }
        let running = Int(hello.productFirmwareVersion)
        let gateway = self.gateway
        let logger = self.logger
        let loop = firmwareEventLoop
        let handler = NIOLoopBound<any FirmwareEndpoint>(self, eventLoop: loop)
        let work = loop.makeFutureWithTask {
            let store = gateway.devices.productFirmware
            let target = try await store.target(deviceID: deviceID)
            guard !target.development else { return }
            let wanted: ProductFirmware?
            if let version = target.desiredVersion {
                wanted = try await store.find(productID: productID, version: version)
            } else {
                wanted = try await store.productDefault(productID: productID)
            }
            guard let release = wanted, release.version != running else { return }
            // Uploaded through another node, the file may have to come from the database first.
            let file = try FirmwareFile(path: try await files.path(release.fileSHA256))
            let validated = try ValidatedFirmware(validating: file, for: profile)
            guard
                gateway.updates.reserve(
                    deviceID,
                    firmware: validated,
                    at: .now,
                    automaticLimit: gateway.settings.otaConcurrency
                )
            else {
                if !gateway.updates.isUpdating(deviceID) {
                    gateway.updates.wait(deviceID)
                    logger.info(
                        "automatic update waits for a free slot",
                        metadata: ["firmware.version": "\(release.version)"]
                    )
                    // A slot may have freed since it was counted.
                    gateway.startWaitingUpdates()
                }
                return
            }
            // From here on the slot is this device's: whatever fails gives it back.
            do {
                if let device = try await gateway.devices.find(id: deviceID) {
                    try await gateway.announce("spark/status", data: "auto-update", device: device)
                }
                let started = loop.makePromise(of: Void.self)
                loop.execute {
                    handler.value.startFirmwareUpdate(
                        image: file,
                        validated: validated,
                        profile: profile,
                        promise: started
                    )
                }
                try await started.futureResult.get()
            } catch {
                gateway.updates.release(deviceID)
                gateway.startWaitingUpdates()
                throw error
            }
        }
        work.whenFailure { error in
            logger.warning("automatic update not started", metadata: ["reason": "\(error)"])
        }
    }
}
