import AerosolTesting
import Testing

/// Who may claim, add to a product and (re-)key a device: a device belongs to its owner or to
/// its product's members, and no other account can take it, ride under it or lock it out.
@Suite("Device ownership across accounts", .timeLimit(.minutes(1)))
struct DeviceOwnershipTests {
    static let device = "0123456789abcdef01234567"
    // Two RSA-1024 public keys, as Photon-generation devices have.
    static let keyA = """
        -----BEGIN PUBLIC KEY-----
        MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQCatEgQX41MJJNbRxlw1cIds+jg
        TAhG91/v2e5JWVQzD+RcsSSmf0VL1I4xZCD8k9ddHXHrHc7FJqVUKMMxmnGGvaQF
        JEM+TteDjALgfjY5aJZL8jy78pJbQ05i27srEBWBx2MFDU/ZjvR/gotYI7FRtxoE
        gYqGfScy87uNqGHaGQIDAQAB
        -----END PUBLIC KEY-----
        """
    static let keyB = """
        -----BEGIN PUBLIC KEY-----
        MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDbuHRufqn+huHt5lnCnaRZS54/
        YV/GUHPTio0I3lJgKaAQ4lfhmGwcxnBt6nSZJ2cSWlziys2IuzIV5N5QUhJeFaus
        0Vt+ugyiSv+13kWj/QpHpjVs6ywjYSrHJTO4dSA4WpYQI6B1Is0SwO6+Qi9yI7uY
        Yp6F9/h6klKzXqdB/wIDAQAB
        -----END PUBLIC KEY-----
        """

    @Test func aProductCannotTakeADeviceAnotherUserClaimed() async throws {
        try await TestServer.with { server in
            let ada = try await server.user("ada@example.com")
            let eve = try await server.user("eve@example.com")
            #expect(try await server.form(.POST, "/v1/devices", token: ada, [("id", Self.device)]).status == 200)
            _ = try await server.form(.POST, "/v1/products", token: eve, [("name", "Heist")])
            let added = try await server.form(.POST, "/v1/products/heist/devices", token: eve, [("id", Self.device)])
            #expect(added.status == 200)
            #expect(added.text.contains(#""updated":0"#))
            #expect(added.text.contains(#""nonmemberDeviceIds":["\#(Self.device)"]"#))
            #expect(try await server.get("/v1/products/heist/devices/\(Self.device)", token: eve).status == 404)
            #expect(try await server.get("/v1/devices/\(Self.device)", token: eve).status == 403)
            #expect(try await server.get("/v1/devices/\(Self.device)", token: ada).text.contains(#""product_id":null"#))
        }
    }

    @Test func nobodyOutsideAProductClaimsOrKeysItsDevices() async throws {
        try await TestServer.with { server in
            let ada = try await server.user("ada@example.com")
            let eve = try await server.user("eve@example.com")
            _ = try await server.form(.POST, "/v1/products", token: ada, [("name", "Fleet")])
            _ = try await server.form(.POST, "/v1/products/fleet/devices", token: ada, [("id", Self.device)])
            let provisioned = try await server.form(
                .POST,
                "/v1/provisioning/\(Self.device)",
                token: ada,
                [("publicKey", Self.keyA)]
            )
            #expect(provisioned.status == 200)

            let claim = try await server.form(.POST, "/v1/devices", token: eve, [("id", Self.device)])
            #expect(claim.status == 403)
            #expect(claim.text.contains("belongs to a product you are not a member of"))
            let rekey = try await server.form(
                .POST,
                "/v1/provisioning/\(Self.device)",
                token: eve,
                [("publicKey", Self.keyB)]
            )
            #expect(rekey.status == 403)
            // The product's member may still claim and re-key it.
            #expect(try await server.form(.POST, "/v1/devices", token: ada, [("id", Self.device)]).status == 200)
            let own = try await server.form(
                .POST,
                "/v1/provisioning/\(Self.device)",
                token: ada,
                [("publicKey", Self.keyB)]
            )
            #expect(own.status == 200)
        }
    }

    @Test func whoeverSetsTheKeyOfANewDeviceOwnsItAndReleasingForgetsTheKey() async throws {
        try await TestServer.with { server in
            let ada = try await server.user("ada@example.com")
            let eve = try await server.user("eve@example.com")
            let first = try await server.form(
                .POST,
                "/v1/provisioning/\(Self.device)",
                token: ada,
                [("publicKey", Self.keyA)]
            )
            #expect(first.status == 200)
            #expect(try await server.get("/v1/devices/\(Self.device)", token: ada).status == 200)
            // Nobody else can replace the key, claim the device, or take it into a product.
            let replaced = try await server.form(
                .POST,
                "/v1/provisioning/\(Self.device)",
                token: eve,
                [("publicKey", Self.keyB)]
            )
            #expect(replaced.status == 403)
            #expect(try await server.form(.POST, "/v1/devices", token: eve, [("id", Self.device)]).status == 403)

            // Released, the device forgets Ada's key: whoever claims it next provisions it anew,
            // and Ada's old key does not ride under their claim.
            let released = try await server.request(
                .DELETE,
                "/v1/devices/\(Self.device)",
                headers: [("Authorization", "Bearer \(ada)")]
            )
            #expect(released.status == 200)
            #expect(try await server.form(.POST, "/v1/devices", token: eve, [("id", Self.device)]).status == 200)
            let again = try await server.form(
                .POST,
                "/v1/provisioning/\(Self.device)",
                token: ada,
                [("publicKey", Self.keyA)]
            )
            #expect(again.status == 403)
            let eves = try await server.form(
                .POST,
                "/v1/provisioning/\(Self.device)",
                token: eve,
                [("publicKey", Self.keyB)]
            )
            #expect(eves.status == 200)
        }
    }
}
