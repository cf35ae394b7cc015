import Foundation
import Testing

@testable import DeviceProtocol

@Suite struct KeysTests {
    static let rsa2048Header = hex(
        "30 82 01 22 30 0d 06 09 2a 86 48 86 f7 0d 01 01 01 05 00 03 82 01 0f 00 30 82 01 0a 02 82 01 01 00"
    )
    static let rsa1024Header = hex(
        "30 81 9f 30 0d 06 09 2a 86 48 86 f7 0d 01 01 01 05 00 03 81 8d 00 30 81 89 02 81 81 00"
    )

    @Test func serverKeyLoadsFromPKCS1AndPKCS8() throws {
        let pkcs1 = try ServerKey(pemRepresentation: Fixtures.serverPKCS1PEM)
        let pkcs8 = try ServerKey(pemRepresentation: Fixtures.serverPKCS8PEM)
        let der = try ServerKey(derRepresentation: pkcs1.derRepresentation)
        #expect(pkcs1.publicKeyDER == hex(Fixtures.serverSPKIHex))
        #expect(pkcs8.publicKeyDER == pkcs1.publicKeyDER)
        #expect(der.publicKeyDER == pkcs1.publicKeyDER)
        #expect(pkcs1.publicKeyDER.count == 294)
        #expect(Array(pkcs1.publicKeyDER.prefix(33)) == Self.rsa2048Header)
        #expect(Array(pkcs1.publicKeyDER.suffix(5)) == hex("02 03 01 00 01"))
        #expect(throws: DeviceProtocolError.invalidServerKey) { try ServerKey(derRepresentation: [1, 2, 3]) }
        #expect(throws: DeviceProtocolError.invalidServerKey) {
            try ServerKey(pemRepresentation: Fixtures.devicePKCS1PEM)  // 1024 bits
        }
    }

    @Test func deviceKeyIs162ByteSPKI() throws {
        let key = try DevicePublicKey(derRepresentation: hex(Fixtures.deviceSPKIHex))
        #expect(key.derRepresentation.count == 162)
        #expect(Array(key.derRepresentation.prefix(29)) == Self.rsa1024Header)
        #expect(Array(key.derRepresentation.suffix(5)) == hex("02 03 01 00 01"))
        #expect(key.modulusByteCount == 128)
        #expect(try DevicePublicKey(pemRepresentation: key.pemRepresentation) == key)
        #expect(throws: DeviceProtocolError.invalidDeviceKey) { try DevicePublicKey(derRepresentation: [0x30, 0x00]) }
        #expect(throws: DeviceProtocolError.invalidDeviceKey) { try DevicePublicKey(pemRepresentation: "nope") }
    }

    @Test func blobWithIPv4Address() throws {
        let key = try ServerKey(pemRepresentation: Fixtures.serverPKCS1PEM)
        let blob = try key.deviceBlob(address: ServerAddress("192.168.1.20"), port: 5683)
        #expect(blob.count == ServerKey.deviceBlobSize)
        #expect(Array(blob[0..<294]) == key.publicKeyDER)
        #expect(blob[294..<384].allSatisfy { $0 == 0xFF })
        #expect(Array(blob[384..<390]) == [0x00, 4, 192, 168, 1, 20])
        #expect(blob[390..<450].allSatisfy { $0 == 0xFF })
        #expect(Array(blob[450..<452]) == [0x16, 0x33])
        #expect(blob[452...].allSatisfy { $0 == 0xFF })
    }

    @Test func blobWithDomainAndDefaultPort() throws {
        let key = try ServerKey(pemRepresentation: Fixtures.serverPKCS1PEM)
        let blob = try key.deviceBlob(address: ServerAddress("cloud.example.com"))
        #expect(Array(blob[384..<386]) == [0x01, 17])
        #expect(Array(blob[386..<403]) == Array("cloud.example.com".utf8))
        #expect(Array(blob[450..<452]) == [0xFF, 0xFF])
        #expect(throws: DeviceProtocolError.invalidAddress) {
            try key.deviceBlob(address: .domain(String(repeating: "a", count: 64)))
        }
        #expect(ServerAddress("10.0.0.1") == .ipv4(10, 0, 0, 1))
        #expect(ServerAddress("10.0.0.256") == .domain("10.0.0.256"))
    }

    @Test func deviceIDHex() {
        let id = DeviceID(hex: "0123456789ABCDEF01234567")
        #expect(id?.hexString == "0123456789abcdef01234567")
        #expect(id?.bytes.count == 12)
        #expect(DeviceID(hex: "0123") == nil)
        #expect(DeviceID(hex: "0123456789abcdef0123456g") == nil)
    }

    @Test func errorsNeverShowKeys() throws {
        let keys = try SessionKeys(material: hex(Fixtures.RHex))
        #expect(!"\(keys)".contains("a0"))
        #expect(DeviceProtocolError.deviceKeyMismatch.description.contains("match"))
    }
}
