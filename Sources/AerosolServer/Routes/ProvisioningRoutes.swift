import AerosolModels
import AerosolStore
import DeviceProtocol
import Hummingbird

/// `POST /v1/provisioning/:deviceID`: stores a device's public key (`publicKey`, PEM) so the
/// device gateway accepts its handshake (docs/devices.md).
///
/// Anyone signed in may provision an unclaimed device that has no key yet; replacing a key, or
/// provisioning a claimed device, is for the device's owner only.
struct ProvisioningRoutes {
    let cloud: Cloud

    func register(_ routes: RouteRegistrar) {
        routes.on(.post, "/v1/provisioning/:device") { request, context in
            var request = request
            let (caller, fields) = try await cloud.authorize(&request)
            let raw: String = try context.parameters.decoded("device")
            let id = raw.lowercased()
            guard Device.isValidID(id) else {
                throw APIError.badRequest("\(raw) is not a device ID (24 hex characters)")
            }
            guard let pem = fields.string("publicKey") ?? fields.string("public_key"), !pem.isEmpty else {
                throw APIError.badRequest("publicKey is required: the device's RSA public key in PEM")
            }
            let key: DevicePublicKey
            do {
                key = try DevicePublicKey(pemRepresentation: pem)
            } catch {
                throw APIError.badRequest("publicKey is not an RSA public key in PEM (BEGIN PUBLIC KEY)")
            }
            let keys = DeviceKeyStore(database: cloud.database)
            let owner = try await cloud.devices.find(id: id)?.ownerID
            if let owner, owner != caller.userID {
                throw APIError.permissionDenied(baseURL: cloud.baseURL)
            }
            if owner == nil, let existing = try await keys.publicKey(deviceID: id),
                (try? DevicePublicKey(pemRepresentation: existing)) != key
            {
                throw APIError.permissionDenied(baseURL: cloud.baseURL)
            }
            try await keys.provision(deviceID: id, publicKeyPEM: key.pemRepresentation)
            return .json(.object([("ok", .bool(true)), ("deviceID", .string(id))]))
        }
    }
}
