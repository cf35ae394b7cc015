import AerosolModels
import AerosolStore
import DeviceGateway
import Foundation
import Hummingbird

/// `/v1/devices…`: claiming, listing, renaming and releasing devices.
struct DeviceRoutes {
    let cloud: Cloud

    func register(_ routes: RouteRegistrar) {
        routes.on(.get, "/v1/devices", .caller) { request, context in
            let caller = try context.caller
            let devices = try await cloud.devices.list(ownerID: caller.userID)
            return .json(.array(devices.map(\.listJSON)))
        }
        routes.on(.post, "/v1/devices", .caller) { request, context in
            let caller = try context.caller
            let fields = context.fields
            guard let raw = fields.string("id") else {
                throw APIError.badRequest("id is required: the device ID to claim")
            }
            let id = raw.lowercased()
            guard Device.isValidID(id) else {
                throw APIError.badRequest("\(raw) is not a device ID (24 hex characters)")
            }
            switch try await cloud.devices.claim(id: id, userID: caller.userID) {
            case .claimed:
                cloud.gateway.scopeChanged(deviceIDs: [id])
                // A device whose public key the server lacks cannot connect: say so.
                let provisioned = try await DeviceKeyStore(database: cloud.database).publicKey(deviceID: id) != nil
                return .json(
                    .object([
                        ("ok", .bool(true)), ("deviceID", .string(id)), ("claimed", .bool(true)),
                        ("provisioned", .bool(provisioned)),
                    ])
                )
            case .ownedByAnother:
                throw APIError.resource(.forbidden, "Device \(id) is claimed by another user")
            case .inOthersProduct:
                throw APIError.resource(
                    .forbidden,
                    "Device \(id) belongs to a product you are not a member of; a member of the product may claim it"
                )
            }
        }
        routes.on(.get, "/v1/devices/:device", .caller) { request, context in
            let caller = try context.caller
            let device = try await cloud.device(try context.parameters.decoded("device"), for: caller)
            return .json(device.detailJSON)
        }
        routes.on(.put, "/v1/devices/:device", .caller) { request, context in
            let caller = try context.caller
            let fields = context.fields
            let device = try await cloud.device(try context.parameters.decoded("device"), for: caller)
            if FirmwareUpload.isMultipart(request) {
                return try await Self.flash(request, device: device, cloud: cloud)
            }
            let now = JSONValue.timestamp(Date())
            if fields.has("name") {
                let name = fields.string("name") ?? ""
                try await cloud.devices.rename(id: device.id, to: name)
                return .json(.object([("id", .string(device.id)), ("name", .string(name)), ("updated_at", now)]))
            }
            if fields.has("notes") {
                let notes = fields.string("notes")
                try await cloud.devices.setNotes(id: device.id, notes: notes)
                return .json(.object([("id", .string(device.id)), ("notes", .string(notes)), ("updated_at", now)]))
            }
            if fields.has("signal") {
                // The JS client sends "1" and "0" as strings.
                let on = try fields.bool("signal") ?? false
                do {
                    try await cloud.gateway.signal(on, deviceID: device.id)
                } catch let error as GatewayError {
                    throw APIError(error)
                }
                return .json(
                    .object([("id", .string(device.id)), ("connected", .bool(true)), ("signaling", .bool(on))])
                )
            }
            throw APIError.badRequest("Nothing to update: send name, notes or signal")
        }
        routes.on(.delete, "/v1/devices/:device/update", .caller) { request, context in
            let caller = try context.caller
            let device = try await cloud.device(try context.parameters.decoded("device"), for: caller)
            return try await Self.cancelFlash(device: device, cloud: cloud)
        }
        routes.on(.delete, "/v1/devices/:device", .caller) { request, context in
            let caller = try context.caller
            let device = try await cloud.device(try context.parameters.decoded("device"), for: caller)
            guard device.ownerID == caller.userID else { throw APIError.permissionDenied(baseURL: cloud.baseURL) }
            try await cloud.devices.unclaim(id: device.id)
            cloud.gateway.scopeChanged(deviceIDs: [device.id])
            return .ok
        }
    }
}
