import DeviceGateway
import DeviceProtocol
import Foundation
import _CryptoExtras

/// A simulated device's id and RSA-1024 key pair, as every real TCP device has (spec §2).
public struct DeviceIdentity: Sendable {
    /// The device id.
    public let id: DeviceID
    /// The private key, PKCS#1 DER (what a device stores as `device_key.der`).
    public let privateKeyDER: [UInt8]
    /// The public half, as the server is provisioned with it.
    public let publicKey: DevicePublicKey

    /// An identity from an id and its private key (PKCS#1 or PKCS#8 DER).
    public init(id: DeviceID, privateKeyDER: [UInt8]) throws {
        self.id = id
        self.privateKeyDER = privateKeyDER
        self.publicKey = try DevicePublicKey(privateKey: privateKeyDER)
    }

    /// A new identity: a random id and a fresh RSA-1024 key (a few to tens of milliseconds of
    /// CPU each; see ``DeviceIdentityFile`` to generate many once and keep them).
    public static func generate() throws -> DeviceIdentity {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<12).map { _ in UInt8.random(in: 0...255, using: &generator) }
        guard let id = DeviceID(bytes: bytes) else { throw BenchError("could not make a device id") }
        // The plain initialisers refuse keys under 2048 bits; devices use 1024.
        let key = try _RSA.Signing.PrivateKey(unsafeKeySize: .init(bitCount: 1024))
        return try DeviceIdentity(id: id, privateKeyDER: [UInt8](key.derRepresentation))
    }

    /// A simulator for this device, talking to the server whose public key DER is given, with
    /// `application`'s variables and functions.
    public func simulator(
        serverPublicKeyDER: [UInt8],
        application: SimulatedApplication = SimulatedApplication()
    ) throws -> DeviceSimulator {
        try DeviceSimulator(
            deviceID: id,
            privateKey: privateKeyDER,
            serverPublicKeyDER: serverPublicKeyDER,
            application: application
        )
    }
}
