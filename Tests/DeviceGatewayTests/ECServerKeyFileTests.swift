import DeviceGateway
import DeviceProtocol
import Foundation
import Testing

@Suite("UDP server key file")
struct ECServerKeyFileTests {
    @Test func theKeyIsCreatedOnceWithMode0600() throws {
        let path = NSTemporaryDirectory() + "aerosol-ec-key-" + UUID().uuidString + ".pem"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let created = try ECServerKeyFile.loadOrCreate(at: path)
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        let loaded = try ECServerKeyFile.loadOrCreate(at: path)
        #expect(loaded.publicKeyDER == created.publicKeyDER)
        #expect(created.publicKeyDER.count == 91)
    }
}
