import AerosolStore
import DeviceProtocol
import Firmware
import NIOCore

/// Automatic product updates: a product device that comes online with another product firmware
/// version than its product's default release gets that release, with at most
/// ``GatewaySettings/otaConcurrency`` automatic transfers at once. A device locked to a version
/// gets that version instead; a development device is never updated automatically.
extension DeviceChannelHandler {
    /// Starts the product's default release on this device if it runs another version.
    func autoUpdateIfNeeded() {
        guard firmware.transfer == nil, let deviceID, let productID = online?.productID,
            let directory = gateway.settings.firmwareDirectory, let profile = firmwareProfile,
            let hello = session?.hello, let context
        else { return }
        let running = Int(hello.productFirmwareVersion)
        let gateway = self.gateway
        let logger = self.logger
        let loop = context.eventLoop
        let handler = NIOLoopBound(self, eventLoop: loop)
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
            let file = try FirmwareFile(path: directory + "/" + release.fileSHA256 + ".bin")
            let validated = try ValidatedFirmware(validating: file, for: profile)
            guard
                gateway.updates.reserve(
                    deviceID,
                    firmware: validated,
                    at: .now,
                    automaticLimit: gateway.settings.otaConcurrency
                )
            else {
                logger.info("automatic update deferred: busy", metadata: ["firmware.version": "\(release.version)"])
                return
            }
            if let device = try await gateway.devices.find(id: deviceID) {
                try await gateway.announce("spark/status", data: "auto-update", device: device)
            }
            let started = loop.makePromise(of: Void.self)
            loop.execute {
                handler.value.startFirmwareUpdate(image: file, validated: validated, profile: profile, promise: started)
            }
            do {
                try await started.futureResult.get()
            } catch {
                gateway.updates.release(deviceID)
                throw error
            }
        }
        work.whenFailure { error in
            logger.warning("automatic update not started", metadata: ["reason": "\(error)"])
        }
    }
}
