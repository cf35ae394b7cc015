import AerosolModels
import Testing
import WireClient

@Suite("Devices", .timeLimit(.minutes(1)))
struct DeviceTests {
    static let id = "0123456789abcdef01234567"

    @Test func claimListRenameAndRelease() async throws {
        try await TestServer.with { server in
            let token = try await server.user("ada@example.com")
            let claim = try await server.form(.POST, "/v1/devices", token: token, [("id", Self.id.uppercased())])
            #expect(claim.text == #"{"ok":true,"deviceID":"\#(Self.id)","claimed":true,"provisioned":false}"#)

            let list = try await server.get("/v1/devices", token: token)
            let devices = try #require(try JSONValue(list).arrayValue)
            #expect(devices.count == 1)
            let device = devices[0]
            #expect(device["id"] == .string(Self.id))
            #expect(device["connected"] == .bool(false))
            #expect(device["online"] == .bool(false))
            for field in [
                "name", "last_app", "last_ip_address", "last_heard", "product_id", "platform_id", "cellular",
                "notes", "status", "functions", "variables", "system_firmware_version",
            ] {
                #expect(device[field] != nil, "missing \(field)")
            }

            let rename = try await server.form(.PUT, "/v1/devices/\(Self.id)", token: token, [("name", "weatherman")])
            #expect(rename.status == 200)
            #expect(try JSONValue(rename)["name"] == .string("weatherman"))
            let byName = try await server.get("/v1/devices/weatherman", token: token)
            #expect(byName.status == 200)
            #expect(try JSONValue(byName)["id"] == .string(Self.id))
            #expect(try JSONValue(byName)["owner"] != nil)

            let notes = try await server.form(.PUT, "/v1/devices/weatherman", token: token, [("notes", "on the roof")])
            #expect(try JSONValue(notes)["notes"] == .string("on the roof"))
            let nothing = try await server.form(.PUT, "/v1/devices/weatherman", token: token, [])
            #expect(nothing.status == 400)

            let release = try await server.request(
                .DELETE,
                "/v1/devices/weatherman",
                headers: [("Authorization", "Bearer \(token)")]
            )
            #expect(release.text == #"{"ok":true}"#)
            #expect(try JSONValue(try await server.get("/v1/devices", token: token)) == .array([]))
        }
    }

    @Test func anotherUsersDeviceIsPermissionDenied() async throws {
        try await TestServer.with { server in
            let ada = try await server.user("ada@example.com")
            let bob = try await server.user("bob@example.com")
            _ = try await server.form(.POST, "/v1/devices", token: ada, [("id", Self.id)])
            let steal = try await server.form(.POST, "/v1/devices", token: bob, [("id", Self.id)])
            #expect(steal.status == 403)
            let look = try await server.get("/v1/devices/\(Self.id)", token: bob)
            #expect(look.status == 403)
            #expect(
                look.text
                    == #"{"ok":false,"error":"Permission Denied","info":"I didn't recognize that device name or ID, try opening http://127.0.0.1:\#(server.port)/v1/devices?access_token=undefined"}"#
            )
            let bad = try await server.form(.POST, "/v1/devices", token: ada, [("id", "not-a-device")])
            #expect(bad.status == 400)
        }
    }
}
