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

    /// Found by fuzzing the handshake under AddressSanitizer: swift-crypto 3.12 freed its key
    /// twice when bytes were neither SPKI nor PKCS#1 (here a device's handshake presenting 162
    /// bytes of 0x30), a use-after-free any device could cause. Keys are now read by
    /// RSAPublicKeyDER and built from their numbers; whatever is not a key is refused first.
    @Test func keysThatAreNotKeysAreRefusedBeforeSwiftCryptoSeesThem() throws {
        let spki = hex(Fixtures.deviceSPKIHex)
        let key = try DevicePublicKey(derRepresentation: spki)
        #expect(key.derRepresentation == spki)
        #expect(key.modulusByteCount == 128)
        // The PKCS#1 form inside the SPKI (after its 22-byte header) is the same key.
        #expect(try DevicePublicKey(derRepresentation: spki[22...]) == key)
        var generator = SplitMix64(seed: 0xDE12)
        var notKeys: [[UInt8]] = [
            [UInt8](repeating: 0x30, count: 162), [], [0x30], [0x30, 0x00], [0x30, 0x80],
            spki.dropLast(), spki + [0x00],
            Array(spki[..<4]) + [0x05] + Array(spki[5...]),  // not the rsaEncryption OID
            [0x30, 0x06, 0x02, 0x01, 0x80, 0x02, 0x01, 0x03],  // a negative modulus
            [0x30, 0x81, 0x06, 0x02, 0x01, 0x05, 0x02, 0x01, 0x03],  // a long length that fits short
            [0x30, 0x06, 0x02, 0x01, 0x05, 0x02, 0x01, 0x03],  // a 3-bit modulus
        ]
        for _ in 0..<300 {
            var bytes = spki
            bytes[Int(generator.next() % UInt64(bytes.count))] ^= 1 << UInt8(generator.next() % 8)
            notKeys.append(bytes)
            notKeys.append((0..<Int(generator.next() % 200)).map { _ in UInt8(truncatingIfNeeded: generator.next()) })
        }
        for bytes in notKeys {
            // A flipped bit inside the modulus or exponent still makes a key (another one).
            if let other = try? DevicePublicKey(derRepresentation: bytes) {
                #expect(other != key && other.modulusByteCount >= 128)
            }
        }
        for bytes in notKeys.prefix(11) {
            #expect(throws: DeviceProtocolError.invalidDeviceKey) { try DevicePublicKey(derRepresentation: bytes) }
        }
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
