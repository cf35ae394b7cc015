import DeviceGateway
import DeviceProtocol
import Foundation
import Testing

@Suite("Server key file")
struct ServerKeyFileTests {
    @Test func theKeyIsCreatedOnceWithMode0600() throws {
        let path = NSTemporaryDirectory() + "aerosol-key-" + UUID().uuidString + ".pem"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let created = try ServerKeyFile.loadOrCreate(at: path)
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        let loaded = try ServerKeyFile.loadOrCreate(at: path)
        #expect(loaded.publicKeyDER == created.publicKeyDER)
        #expect(created.publicKeyDER.count == 294)
    }
}
