import AerosolModels
import AerosolStore
import DeviceProtocol
import Foundation

/// What a device session writes to the store, the same for both transports: online and
/// offline with `spark/status`, device events, Describe.
extension GatewayContext {
    /// Records `link`'s device online and makes `link` its online connection, closing and
    /// reporting offline a connection it replaces (the device reconnected before its old
    /// connection was noticed dead, or switched protocol). Returns the device.
    func recordOnline(_ link: DeviceLink, address: String?, hello: Hello) async throws -> Device {
        let version = hello.systemVersion.flatMap { SystemVersion.releaseName(moduleVersion: Int($0)) }
        return try await statusLock.withLock(link.deviceID) {
            let device = try await devices.connected(
                id: link.deviceID,
                at: Date(),
                ipAddress: address,
                platformID: hello.platformID.map(Int.init),
                systemFirmwareVersion: version,
                // 0xFFFF: no product version (a developer's own firmware).
                firmwareVersion: hello.productFirmwareVersion == 0xFFFF ? nil : Int(hello.productFirmwareVersion),
                node: settings.nodeID
            )
            // Registered once recorded: a failed write leaves the previous connection online.
            if let previous = registry.goOnline(link) {
                previous.close()
                try await announce("spark/status", data: "offline", device: device)
            }
            try await announce("spark/status", data: "online", device: device)
            return device
        }
    }

    /// Records the device offline and reports it, unless another link (`serial` is not the
    /// online one) has taken over; `false` then.
    func recordOffline(deviceID: String, serial: UInt64, lastHeard: Date) async throws -> Bool {
        try await statusLock.withLock(deviceID) {
            guard registry.goOffline(deviceID, serial: serial) else { return false }
            // Batched with the other devices going offline (one commit for many, never refused
            // for load): 10,000 at once no longer overflow the writer's queue.
            if let device = try await devices.disconnected(id: deviceID, lastHeard: lastHeard, node: settings.nodeID) {
                try await announce("spark/status", data: "offline", device: device)
            }
            return true
        }
    }

    /// Reports `devices`, recorded offline already, offline (`spark/status`), except those
    /// connected here again meanwhile; a report that fails is logged with `cause` (what took
    /// the device offline) and the others are still made.
    func reportOffline(_ devices: [Device], cause: String) async {
        for device in devices {
            do {
                try await statusLock.withLock(device.id) {
                    guard registry.link(device.id) == nil else { return }
                    try await announce("spark/status", data: "offline", device: device)
                }
            } catch {
                logger.warning(
                    "could not report a device offline \(cause)",
                    metadata: ["device.id": "\(device.id)", "reason": "\(error)"]
                )
            }
        }
    }

    /// Appends a device's event, in the scope of its current owner and product.
    func appendDeviceEvent(_ event: DevicePublish, deviceID: String) async throws {
        let device = try await devices.find(id: deviceID)
        // Device OS publishes its update flags at every connect (device-ota.md §6.2): written
        // only when one changes (the defaults, enabled and not forced, are not written), so that
        // a connect costs no more durable writes than before.
        if let device, event.name.hasPrefix("particle/device/updates/"), let value = Bool(event.data ?? "") {
            let forced = event.name == "particle/device/updates/forced"
            let known = forced ? device.firmwareUpdatesForced ?? false : device.firmwareUpdatesEnabled ?? true
            if forced || event.name == "particle/device/updates/enabled", value != known {
                try await devices.reportedUpdateFlag(id: deviceID, forced: forced, value: value)
            }
        }
        _ = try await log.append(
            EventDraft(
                name: event.name,
                data: event.data,
                ttl: event.ttl,
                coreID: deviceID,
                userID: device?.ownerID,
                productID: device?.productID
            ),
            source: .device
        )
    }

    /// Records a Describe: functions and variables, the Device OS version, and safe mode.
    func recordDescribe(_ describe: Describe, document: [UInt8], deviceID: String) async throws {
        if describe.hasApplicationPart {
            try await devices.described(
                id: deviceID,
                functions: describe.functions ?? [],
                variables: (describe.variables ?? [:]).compactMapValues { VariableType(rawValue: $0)?.apiName }
            )
        }
        if let version = describe.systemVersion.flatMap(SystemVersion.releaseName(moduleVersion:)) {
            try await devices.reportedSystemFirmware(id: deviceID, version: version)
        }
        if describe.hasInvalidModules, let device = try await devices.find(id: deviceID) {
            let data = String(decoding: document, as: UTF8.self)
            try await announce("spark/status/safe-mode", data: data, device: device)
        }
    }
}
