import Crypto
import Foundation
import _CryptoExtras

@testable import DeviceProtocol

/// The device side of the handshake, written for the tests only (the server never needs it).
struct TestDevice {
    let id: DeviceID
    let privateKey: _RSA.BlindSigning.PrivateKey<SHA384>
    let publicKey: DevicePublicKey
    let serverPublicKey: DevicePublicKey
    var nonce: [UInt8] = []

    init(id: DeviceID, privateKeyPEM: String, serverPublicKeyDER: [UInt8]) throws {
        self.id = id
        self.privateKey = try _RSA.BlindSigning.PrivateKey<SHA384>(unsafePEMRepresentation: privateKeyPEM)
        self.publicKey = try DevicePublicKey(derRepresentation: self.privateKey.publicKey.derRepresentation)
        self.serverPublicKey = try DevicePublicKey(derRepresentation: serverPublicKeyDER)
    }

    /// Step 2: the 256-byte block answering the server's nonce.
    mutating func answer(nonce: [UInt8]) throws -> [UInt8] {
        self.nonce = nonce
        var generator = SystemRandomNumberGenerator()
        return try self.serverPublicKey.encrypt(
            nonce + self.id.bytes + self.publicKey.derRepresentation,
            using: &generator
        )
    }

    enum Failure: Error { case badLength, badPadding, badHMAC, badSignature }

    /// Step 3 on the device: decrypt `R`, check the HMAC and the raw signature, as Device OS does.
    func accept(_ reply: [UInt8]) throws -> SessionKeys {
        guard reply.count == 384 else { throw Failure.badLength }
        let ciphertext = Array(reply[0..<128])
        let signature = Array(reply[128..<384])
        let padded = [UInt8](try self.privateKey.blindSignature(for: ciphertext).rawRepresentation)
        guard let material = RawRSA.unpadType2(padded), material.count == 40 else { throw Failure.badPadding }
        let hmac = Array(HMAC<Insecure.SHA1>.authenticationCode(for: ciphertext, using: SymmetricKey(data: material)))
        guard self.serverPublicKey.publicOperation(signature) == RawRSA.padType1(hmac, length: 256) else {
            throw Failure.badSignature
        }
        return try SessionKeys(material: material)
    }
}

/// A deterministic generator for tests.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { self.state = seed }
    mutating func next() -> UInt64 {
        self.state &+= 0x9E37_79B9_7F4A_7C15
        var z = self.state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
