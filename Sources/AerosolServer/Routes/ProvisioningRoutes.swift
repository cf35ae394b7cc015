import AerosolModels
import AerosolStore
import DeviceProtocol
import Hummingbird

/// `POST /v1/provisioning/:deviceID`: stores a device's public key (`publicKey`: PEM, or the
/// base64 of its DER) so the device gateway accepts its handshake (docs/devices.md). An RSA key
/// admits the device on TCP, an EC P-256 key on UDP; `algorithm` (`rsa` or `ecc`) may say which,
/// otherwise it is detected.
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
                throw APIError.badRequest("publicKey is required: the device's public key in PEM (RSA or EC P-256)")
            }
            let algorithm = fields.string("algorithm").flatMap { $0.isEmpty ? nil : $0.lowercased() }
            if let algorithm, !["rsa", "ecc", "ec"].contains(algorithm) {
                throw APIError.badRequest("algorithm must be rsa or ecc")
            }
            let key: DeviceKey
            do {
                key = try DeviceKey(publicKey: pem, algorithm: algorithm)
            } catch {
                throw APIError.badRequest(
                    "publicKey is not an \(algorithm == nil ? "RSA or EC P-256" : algorithm == "rsa" ? "RSA" : "EC P-256") public key in PEM (BEGIN PUBLIC KEY) or base64 DER"
                )
            }
            let result = try await DeviceKeyStore(database: cloud.database).provision(
                deviceID: id,
                publicKeyPEM: key.pemRepresentation,
                by: caller.userID,
                equivalent: { stored in (try? DeviceKey(publicKey: stored)) == key }
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
