import Crypto
import DeviceProtocol
import Foundation
import Testing

@Suite("EC keys for UDP devices")
struct ECKeysTests {
    @Test func theUDPBlobHasTheKeyAtZeroTheAddressAt192AndThePortAt258() throws {
        let key = ECServerKey.generate()
        let blob = try key.deviceBlob(address: ServerAddress("192.168.1.10"), port: 5684)
        #expect(blob.count == 320)
        #expect(Array(blob[0..<91]) == key.publicKeyDER)
        #expect(key.publicKeyDER.count == 91)
        #expect(blob[91..<192].allSatisfy { $0 == 0xFF })
        #expect(Array(blob[192..<198]) == [0x00, 4, 192, 168, 1, 10])
        #expect(Array(blob[258..<260]) == [0x16, 0x34])
        #expect(blob[198..<258].allSatisfy { $0 == 0xFF })
        #expect(blob[260...].allSatisfy { $0 == 0xFF })

        let named = try key.deviceBlob(address: ServerAddress("cloud.example.com"))
        #expect(Array(named[192..<194]) == [0x01, 17])
        #expect(String(decoding: named[194..<211], as: UTF8.self) == "cloud.example.com")
        #expect(Array(named[258..<260]) == [0xFF, 0xFF])
        #expect(throws: DeviceProtocolError.self) { try key.deviceBlob(address: .domain("")) }
    }

    @Test func theServerKeyRoundTripsThroughPEM() throws {
        let key = ECServerKey.generate()
        let loaded = try ECServerKey(pemRepresentation: key.pemRepresentation)
        #expect(loaded.publicKeyDER == key.publicKeyDER)
        #expect(throws: DeviceProtocolError.self) { try ECServerKey(pemRepresentation: "nonsense") }
    }

    @Test func aDeviceKeyIsReadFromItsPublicOrPrivateForm() throws {
        let device = P256.Signing.PrivateKey()
        let spki = Array(device.publicKey.derRepresentation)
        let fromDER = try ECDevicePublicKey(derRepresentation: spki)
        #expect(fromDER.derRepresentation == spki)
        #expect(try ECDevicePublicKey(pemRepresentation: fromDER.pemRepresentation) == fromDER)
        // SEC1 DER, as `openssl ec -outform DER` writes the device_key.der of a Gen3 device.
        #expect(try ECDevicePublicKey(privateKey: device.derRepresentation) == fromDER)
        #expect(try ECDevicePublicKey(privateKey: Data(device.pemRepresentation.utf8)) == fromDER)

        var offCurve = spki
        offCurve[90] ^= 0x01
        #expect(throws: DeviceProtocolError.self) { try ECDevicePublicKey(derRepresentation: offCurve) }
        #expect(throws: DeviceProtocolError.self) { try ECDevicePublicKey(derRepresentation: spki.prefix(90)) }
        #expect(throws: DeviceProtocolError.self) { try ECDevicePublicKey(privateKey: [0x30, 0x03, 0x02, 0x01, 0x01]) }
    }

    @Test func theAlgorithmIsDetectedOrChecked() throws {
        let ec = ECDevicePublicKey.self
        let spki = Array(P256.Signing.PrivateKey().publicKey.derRepresentation)
        let pem = try ec.init(derRepresentation: spki).pemRepresentation
        let detected = try DeviceKey(publicKey: pem)
        #expect(detected.algorithm == "ecc")
        #expect(detected.transport == "udp")
        #expect(try DeviceKey(publicKey: Data(spki).base64EncodedString(), algorithm: "ecc") == detected)
        #expect(throws: DeviceProtocolError.self) { try DeviceKey(publicKey: pem, algorithm: "rsa") }
        #expect(throws: DeviceProtocolError.self) {
            try DeviceKey(publicKey: "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----")
        }
    }
}
