import AerosolModels
import AerosolServer
import AerosolTesting
import DeviceGateway
import Firmware
import Foundation
import Testing
import WireClient

@Suite("Product firmware: upload, list, release, delete, live", .timeLimit(.minutes(1)))
struct ProductFirmwareTests {
    static func upload(
        _ file: [UInt8],
        fields: [(String, String)],
        product: String,
        on server: TestServer,
        token: String
    ) async throws -> WireResponse {
        let (contentType, body) = TestFirmware.multipart(file, fields: fields)
        let connection = try await server.connect()
        do {
            let response = try await connection.request(
                .POST,
                "/v1/products/\(product)/firmware",
                headers: [("Content-Type", contentType), ("Authorization", "Bearer \(token)")],
                bytes: body
            )
            await connection.close()
            return response
        } catch {
            await connection.close()
            throw error
        }
    }

    /// Uploads `file` as `version` of `product` and releases it (`product_default`), expecting
    /// both to succeed.
    static func release(
        _ file: [UInt8],
        version: Int,
        title: String,
        product: String,
        on server: TestServer,
        token: String
    ) async throws {
        let stored = try await upload(
            file,
            fields: [("version", "\(version)"), ("title", title)],
            product: product,
            on: server,
            token: token
        )
        #expect(stored.status == 200, "\(stored.text)")
        let release = try await server.request(
            .PUT,
            "/v1/products/\(product)/firmware/release",
            headers: [("Content-Type", "application/json"), ("Authorization", "Bearer \(token)")],
            body: #"{"version":\#(version),"product_default":true}"#
        )
        #expect(release.status == 200, "\(release.text)")
    }

    /// A product "Lamps" with one provisioned device in it; returns the product's id and the
    /// device.
    static func lampsDevice(on server: TestServer, token: String) async throws -> (
        productID: Int64, device: TestDeviceIdentity
    ) {
        let created = try await server.form(.POST, "/v1/products", token: token, [("name", "Lamps")])
        let productID = try #require(try JSONValue(created)["product"]?["id"]?.intValue)
        let device = try TestDeviceIdentity()
        let added = try await server.form(.POST, "/v1/products/lamps/devices", token: token, [("id", device.hex)])
        #expect(added.status == 200, "\(added.text)")
        try await GatewayLiveTests.provisionKey(device, on: server, token: token)
        return (productID, device)
    }

    @Test func firmwareIsUploadedListedReleasedAndDeleted() async throws {
        try await TestServer.with { server in
            let token = try await server.user("ada@example.com")
            let created = try await server.form(.POST, "/v1/products", token: token, [("name", "Lamps")])
            #expect(created.status == 200, "\(created.text)")
            let binary = TestFirmware.application(size: 6_000, productVersion: 3)

            let mismatch = try await Self.upload(
                binary,
                fields: [("version", "4"), ("title", "v4")],
                product: "lamps",
                on: server,
                token: token
            )
            #expect(mismatch.status == 400, "\(mismatch.text)")
            #expect(mismatch.text.contains("PRODUCT_VERSION is 3"), "\(mismatch.text)")
            let junk = try await Self.upload(
                [UInt8](repeating: 7, count: 500),
                fields: [("version", "3"), ("title", "v3")],
                product: "lamps",
                on: server,
                token: token
            )
            #expect(junk.status == 400, "\(junk.text)")

            let stored = try await Self.upload(
                binary,
                fields: [("version", "3"), ("title", "Blink"), ("description", "faster")],
                product: "lamps",
                on: server,
                token: token
            )
            #expect(stored.status == 200, "\(stored.text)")
            #expect(stored.text.hasPrefix(#"{"version":3,"title":"Blink","description":"faster","size":6000,"#))
            // Content-addressed: the binary is in the data directory under its SHA-256.
            let files = try FileManager.default.contentsOfDirectory(atPath: server.dataDirectory + "/firmware")
            #expect(files.contains { $0.hasSuffix(".bin") && $0.count == 68 }, "\(files)")
            let again = try await Self.upload(
                binary,
                fields: [("version", "3"), ("title", "Blink")],
                product: "lamps",
                on: server,
                token: token
            )
            #expect(again.status == 409, "\(again.text)")

            let list = try await server.get("/v1/products/lamps/firmware", token: token)
            #expect(list.status == 200)
            #expect(list.text.hasPrefix(#"[{"version":3,"title":"Blink""#), "\(list.text)")
            let one = try await server.get("/v1/products/lamps/firmware/3", token: token)
            #expect(one.text.contains(#""current":false"#), "\(one.text)")
            #expect(try await server.get("/v1/products/lamps/firmware/9", token: token).status == 404)

            let release = try await server.request(
                .PUT,
                "/v1/products/lamps/firmware/release",
                headers: [("Content-Type", "application/json"), ("Authorization", "Bearer \(token)")],
                body: #"{"version":3,"product_default":true}"#
            )
            #expect(release.status == 200, "\(release.text)")
            #expect(release.text == #"{"ok":true,"version":3,"product_default":true}"#)
            let current = try await server.get("/v1/products/lamps/firmware/3", token: token)
            #expect(current.text.contains(#""current":true"#), "\(current.text)")

            // Released firmware stays; an unreleased one may go.
            let keep = try await server.request(
                .DELETE,
                "/v1/products/lamps/firmware/3",
                headers: [("Authorization", "Bearer \(token)")]
            )
            #expect(keep.status == 409, "\(keep.text)")
            let other = TestFirmware.application(size: 6_000, productVersion: 5, seed: 9)
            #expect(
                try await Self.upload(
                    other,
                    fields: [("version", "5"), ("title", "next")],
                    product: "lamps",
                    on: server,
                    token: token
                ).status == 200
            )
            let gone = try await server.request(
                .DELETE,
                "/v1/products/lamps/firmware/5",
                headers: [("Authorization", "Bearer \(token)")]
            )
            #expect(gone.status == 200, "\(gone.text)")
            #expect(try await server.get("/v1/products/lamps/firmware/5", token: token).status == 404)
        }
    }

    @Test func aProductDeviceOnAnotherVersionIsUpdatedWhenItConnects() async throws {
        try await TestServer.with(configure: FirmwareLiveTests.fast) { server in
            let token = try await server.user("ada@example.com")
            let (productID, device) = try await Self.lampsDevice(on: server, token: token)
            let binary = TestFirmware.application(size: 8_000, productVersion: 3)
            try await ProductFirmwareTests.release(
                binary,
                version: 3,
                title: "Blink",
                product: "lamps",
                on: server,
                token: token
            )
            let stream = try await EventStreamReader.open(
                server,
                "/v1/products/lamps/devices/\(device.hex)/events",
                token: token
            )
            try await stream.read(until: { $0.hasPrefix(":ok") })

            var hello = DeviceSimulator.defaultHello
            hello.productID = UInt16(productID)
            hello.productFirmwareVersion = 1
            var simulator = try device.simulator(dataDirectory: server.dataDirectory, hello: hello)
            let firmware = SimulatedFirmware(otaProtocol: .legacy, platformID: 3)
            simulator.firmware = firmware
            try await simulator.run(host: "127.0.0.1", port: server.devicePort) { _ in
                _ = await FirmwareLiveTests.next(firmware) {
                    if case .restart = $0 { return true } else { return false }
                }
            }
            #expect(firmware.productVersion == 3)
            try await simulator.run(host: "127.0.0.1", port: server.devicePort) { _ in
                let events = try await stream.read(until: { $0.contains(#""data":"success ""#) })
                #expect(events.contains(#""data":"auto-update""#), "\(events)")
                #expect(events.contains(#""data":"started ""#), "\(events)")
            }
            await stream.close()
        }
    }

    @Test func aDeviceLockedToAVersionIsFlashedWithItAndDevelopmentIsRecorded() async throws {
        try await TestServer.with(configure: FirmwareLiveTests.fast) { server in
            let token = try await server.user("ada@example.com")
            let (productID, device) = try await Self.lampsDevice(on: server, token: token)
            let five = TestFirmware.application(size: 7_000, productVersion: 5, seed: 5)
            #expect(
                try await Self.upload(
                    five,
                    fields: [("version", "5"), ("title", "v5")],
                    product: "lamps",
                    on: server,
                    token: token
                )
                .status == 200
            )
            let missing = try await server.request(
                .PUT,
                "/v1/products/lamps/devices/\(device.hex)",
                headers: [("Content-Type", "application/json"), ("Authorization", "Bearer \(token)")],
                body: #"{"desired_firmware_version":9}"#
            )
            #expect(missing.status == 404, "\(missing.text)")
            let stream = try await EventStreamReader.open(
                server,
                "/v1/products/lamps/devices/\(device.hex)/events",
                token: token
            )
            try await stream.read(until: { $0.hasPrefix(":ok") })
            var hello = DeviceSimulator.defaultHello
            hello.productID = UInt16(productID)
            hello.productFirmwareVersion = 1
            var simulator = try device.simulator(dataDirectory: server.dataDirectory, hello: hello)
            let firmware = SimulatedFirmware(otaProtocol: .legacy, platformID: 3)
            simulator.firmware = firmware
            try await simulator.run(host: "127.0.0.1", port: server.devicePort) { _ in
                // Version 5 was never released: only the lock with flash sends it.
                let lock = try await server.request(
                    .PUT,
                    "/v1/products/lamps/devices/\(device.hex)",
                    headers: [("Content-Type", "application/json"), ("Authorization", "Bearer \(token)")],
                    body: #"{"desired_firmware_version":5,"flash":true,"development":true}"#
                )
                #expect(lock.status == 200, "\(lock.text)")
                #expect(
                    lock.text.hasPrefix(#"{"id":"\#(device.hex)","desired_firmware_version":5,"development":true"#),
                    "\(lock.text)"
                )
                _ = await FirmwareLiveTests.next(firmware) {
                    if case .restart = $0 { return true } else { return false }
                }
            }
            #expect(firmware.productVersion == 5)
            try await simulator.run(host: "127.0.0.1", port: server.devicePort) { _ in
                let events = try await stream.read(until: { $0.contains(#""data":"success ""#) })
                #expect(!events.contains(#""data":"auto-update""#), "\(events)")
            }
            await stream.close()
        }
    }
}
