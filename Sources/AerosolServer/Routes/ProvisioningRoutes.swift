import AerosolModels
import AerosolStore
import DeviceProtocol
import Hummingbird

/// `POST /v1/provisioning/:deviceID`: stores a device's public key (`publicKey`, PEM) so the
/// device gateway accepts its handshake (docs/devices.md).
///
/// Who may set a key is decided by ``DeviceKeyStore/provision(deviceID:publicKeyPEM:by:equivalent:)``:
/// the device's owner; for a product device nobody owns, the product's members; for a device
/// nobody holds, anyone signed in, who then owns it.
struct ProvisioningRoutes {
    let cloud: Cloud

    func register(_ routes: RouteRegistrar) {
        routes.on(.post, "/v1/provisioning/:device", .caller) { request, context in
            let caller = try context.caller
            let fields = context.fields
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
            let result = try await DeviceKeyStore(database: cloud.database).provision(
                deviceID: id,
                publicKeyPEM: key.pemRepresentation,
                by: caller.userID,
                equivalent: { stored in (try? DevicePublicKey(pemRepresentation: stored)) == key }
            )
            guard case .provisioned(let claimed, let replaced) = result else {
                throw APIError.permissionDenied(baseURL: cloud.baseURL)
            }
            // A connection made with the old key must not outlive it.
            if replaced { cloud.gateway.disconnect(deviceID: id) }
            if claimed { cloud.gateway.scopeChanged(deviceIDs: [id]) }
            return .json(.object([("ok", .bool(true)), ("deviceID", .string(id))]))
        }
    }
}
