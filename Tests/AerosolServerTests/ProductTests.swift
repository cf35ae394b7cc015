import AerosolModels
import Testing
import WireClient

@Suite("Products and product devices", .timeLimit(.minutes(1)))
struct ProductTests {
    @Test func createListAndFetchByIdOrSlug() async throws {
        try await TestServer.with { server in
            let token = try await server.user("ada@example.com")
            let created = try await server.form(.POST, "/v1/products", token: token, [("name", "My Product")])
            #expect(created.status == 200)
            let product = try #require(try JSONValue(created)["product"])
            #expect(product["slug"] == .string("my-product"))
            #expect(product["name"] == .string("My Product"))
            let id = try #require(product["id"]?.intValue)

            let byID = try await server.get("/v1/products/\(id)", token: token)
            let bySlug = try await server.get("/v1/products/my-product", token: token)
            #expect(byID.status == 200 && bySlug.status == 200)
            #expect(byID.text == bySlug.text)

            let list = try JSONValue(try await server.get("/v1/products", token: token))
            #expect(list["products"]?.arrayValue?.count == 1)

            let duplicate = try await server.form(.POST, "/v1/products", token: token, [("name", "My Product")])
            #expect(duplicate.status == 409)
            #expect(try JSONValue(duplicate)["ok"] == .bool(false))

            let badSlug = try await server.form(
                .POST,
                "/v1/products",
                token: token,
                [("name", "X"), ("slug", "Bad Slug")]
            )
            #expect(badSlug.status == 400)
            let noName = try await server.form(.POST, "/v1/products", token: token, [])
            #expect(noName.text == #"{"ok":false,"error":"name is required"}"#)
        }
    }

    @Test func onlyMembersSeeAProduct() async throws {
        try await TestServer.with { server in
            let ada = try await server.user("ada@example.com")
            let bob = try await server.user("bob@example.com")
            _ = try await server.form(.POST, "/v1/products", token: ada, [("name", "Fleet")])
            let foreign = try await server.get("/v1/products/fleet", token: bob)
            #expect(foreign.status == 403)
            #expect(try JSONValue(foreign)["error"] == .string("Permission Denied"))
            let unknown = try await server.get("/v1/products/nothing-here", token: bob)
            #expect(unknown.status == 404)
            #expect(unknown.text == #"{"ok":false,"error":"Product not found"}"#)
            let list = try JSONValue(try await server.get("/v1/products", token: bob))
            #expect(list["products"] == .array([]))
        }
    }

    @Test func addingAndListingDevicesIsPaginated() async throws {
        try await TestServer.with { server in
            let token = try await server.user("ada@example.com")
            _ = try await server.form(.POST, "/v1/products", token: token, [("name", "Fleet")])
            let ids = (0..<30).map { String(format: "%024x", 0xabc000 + $0) }
            let added = try await server.request(
                .POST,
                "/v1/products/fleet/devices",
                headers: [("Content-Type", "application/json"), ("Authorization", "Bearer \(token)")],
                body: #"{"ids":[\#(ids.map { "\"\($0)\"" }.joined(separator: ",")),"nothex"]}"#
            )
            #expect(added.status == 200)
            let result = try JSONValue(added)
            #expect(result["updated"] == .int(30))
            #expect(result["invalidDeviceIds"] == .array([.string("nothex")]))
            #expect(result["existingDeviceIds"] == .array([]))

            let again = try await server.form(.POST, "/v1/products/fleet/devices", token: token, [("ids[]", ids[0])])
            #expect(try JSONValue(again)["existingDeviceIds"] == .array([.string(ids[0])]))

            let listing = try await server.get("/v1/products/fleet/devices", token: token)
            let page1 = try JSONValue(listing)
            #expect(page1["devices"]?.arrayValue?.count == 25)
            #expect(
                listing.text.hasSuffix(#""customers":[],"meta":{"page":1,"per_page":25,"total_pages":2,"total":30}}"#)
            )
            let page2 = try JSONValue(
                try await server.get("/v1/products/fleet/devices?page=2&per_page=25", token: token)
            )
            #expect(page2["devices"]?.arrayValue?.count == 5)

            let bad = try await server.get("/v1/products/fleet/devices?per_page=1000", token: token)
            #expect(bad.status == 400)

            let one = try await server.get("/v1/products/fleet/devices/\(ids[3])", token: token)
            #expect(one.status == 200)
            #expect(try JSONValue(one)["id"] == .string(ids[3]))
            #expect(try JSONValue(one)["firmware_product_id"] != nil)

            let removed = try await server.request(
                .DELETE,
                "/v1/products/fleet/devices/\(ids[3])",
                headers: [("Authorization", "Bearer \(token)")]
            )
            #expect(removed.status == 204)
            #expect(try await server.get("/v1/products/fleet/devices/\(ids[3])", token: token).status == 404)
            #expect(try await server.get("/v1/products/fleet/devices/xyz", token: token).status == 400)
        }
    }
}
