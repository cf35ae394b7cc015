import DeviceGateway
import DeviceProtocol
import Foundation
import _CryptoExtras

/// A freshly generated RSA-1024 device identity, as a real TCP device has.
struct TestDeviceIdentity {
    let id: DeviceID
    let privateKeyPEM: String
    let publicKey: DevicePublicKey

    init() throws {
        let key = try _RSA.Signing.PrivateKey(unsafeKeySize: .init(bitCount: 1024))
        var bytes = [UInt8](repeating: 0, count: 12)
        for index in bytes.indices { bytes[index] = .random(in: 0...255) }
        self.id = DeviceID(bytes: bytes)!
        self.privateKeyPEM = key.pemRepresentation
        self.publicKey = try DevicePublicKey(privateKey: Data(key.pemRepresentation.utf8))
    }

    var hex: String { id.hexString }

    /// A simulator for this device talking to the server whose key is in `dataDirectory`.
    func simulator(
        dataDirectory: String,
        hello: Hello = DeviceSimulator.defaultHello,
        application: SimulatedApplication = SimulatedApplication()
    ) throws -> DeviceSimulator {
        let serverKey = try ServerKeyFile.load(at: dataDirectory + "/server-key.pem")
        return try DeviceSimulator(
            deviceID: id,
            privateKey: Data(privateKeyPEM.utf8),
            serverPublicKeyDER: serverKey.publicKeyDER,
            hello: hello,
            application: application
        )
    }
}
