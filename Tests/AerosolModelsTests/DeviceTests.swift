import AerosolModels
import Foundation
import Testing

@Suite("Device")
struct DeviceTests {
    static let created = Date(timeIntervalSince1970: 1_700_000_000)

    static func device(online: Bool = true, productID: Int? = nil, platformID: Int? = 6) -> Device {
        Device(
            id: "0123456789abcdef01234567",
            name: "weatherman",
            ownerID: "597771d1f92bae142dbb7559",
            productID: productID,
            notes: nil,
            platformID: platformID,
            online: online,
            lastHeard: Date(timeIntervalSince1970: 1_715_597_740.306),
            lastHandshakeAt: Date(timeIntervalSince1970: 1_715_597_712),
            lastIPAddress: "203.0.113.7",
            systemFirmwareVersion: "5.0.0",
            createdAt: created
        )
    }

    @Test(
        "Valid device ids are 24 lower-case hex characters",
        arguments: ["0123456789abcdef01234567", "e00fce68ece1d3d21a73dcc9", String(repeating: "0", count: 24)]
    )
    func validID(_ id: String) {
        #expect(Device.isValidID(id))
    }

    @Test(
        "Invalid device ids",
        arguments: [
            "", "0123456789ABCDEF01234567", "0123456789abcdef0123456", "0123456789abcdef012345678",
            "0123456789abcdef0123456g", "0123456789abcdef 1234567", "weatherman", "0123456789abcdef0123456é",
            "mine",
        ]
    )
    func invalidID(_ id: String) {
        #expect(!Device.isValidID(id))
    }

    @Test("The list element matches Particle's, field for field and in order")
    func listJSON() {
        #expect(
            Self.device().listJSON.serialized
                == #"{"id":"0123456789abcdef01234567","name":"weatherman","last_app":"","last_ip_address":"203.0.113.7","last_heard":"2024-05-13T10:55:40.306Z","last_handshake_at":"2024-05-13T10:55:12.000Z","product_id":6,"platform_id":6,"online":true,"connected":true,"cellular":false,"notes":null,"status":"normal","functions":[],"variables":{},"serial_number":"","mac_wifi":"","system_firmware_version":"5.0.0"}"#
        )
    }

    @Test("connected always equals online", arguments: [true, false])
    func connectedEqualsOnline(_ online: Bool) {
        let json = Self.device(online: online).listJSON
        #expect(json["online"] == .bool(online))
        #expect(json["connected"] == .bool(online))
        #expect(Self.device(online: online).detailJSON["connected"] == .bool(online))
        #expect(Self.device(online: online).productJSON["connected"] == .bool(online))
    }

    @Test("product_id is the product's id, or the platform id for a non-product device")
    func productIDFallback() {
        #expect(Self.device(productID: 30301, platformID: 12).listJSON["product_id"] == .int(30301))
        #expect(Self.device(productID: 30301, platformID: 12).listJSON["platform_id"] == .int(12))
        #expect(Self.device(productID: nil, platformID: 12).listJSON["product_id"] == .int(12))
        #expect(Self.device(productID: nil, platformID: nil).listJSON["product_id"] == .null)
        #expect(Self.device(productID: 30301, platformID: nil).listJSON["product_id"] == .int(30301))
    }

    @Test("A device never heard from has null timestamps, name and address")
    func unknownDevice() {
        let json = Device(id: "e00fce68ece1d3d21a73dcc9", createdAt: Self.created).listJSON
        #expect(json["name"] == .null)
        #expect(json["last_heard"] == .null)
        #expect(json["last_handshake_at"] == .null)
        #expect(json["last_ip_address"] == .null)
        #expect(json["online"] == .bool(false))
        #expect(json["connected"] == .bool(false))
        #expect(json["system_firmware_version"] == .string(""))
    }

    @Test("The detail object is the list fields then owner and firmware update flags")
    func detailJSON() {
        let device = Self.device()
        #expect(
            keys(device.detailJSON)
                == keys(device.listJSON) + ["owner", "firmware_updates_enabled", "firmware_updates_forced"]
        )
        #expect(device.detailJSON["owner"] == .string("597771d1f92bae142dbb7559"))
        #expect(Device(id: "e00fce68ece1d3d21a73dcc9", createdAt: Self.created).detailJSON["owner"] == .null)
    }

    @Test("The product device object adds the product fields after the detail fields")
    func productJSON() {
        let device = Self.device(productID: 30301, platformID: 12)
        #expect(
            keys(device.productJSON)
                == keys(device.detailJSON) + [
                    "firmware_product_id", "groups", "firmware_version", "desired_firmware_version",
                    "targeted_firmware_release_version", "development", "quarantined", "denied",
                ]
        )
        #expect(device.productJSON["firmware_product_id"] == .int(30301))
        #expect(device.productJSON["product_id"] == .int(30301))
    }

    @Test("The product device object shows what the device reports and what its product targets")
    func productJSONFirmwareFields() {
        var device = Self.device(productID: 30301, platformID: 12)
        #expect(
            device.productJSON.serialized
                == #"{"id":"0123456789abcdef01234567","name":"weatherman","last_app":"","last_ip_address":"203.0.113.7","last_heard":"2024-05-13T10:55:40.306Z","last_handshake_at":"2024-05-13T10:55:12.000Z","product_id":30301,"platform_id":12,"online":true,"connected":true,"cellular":false,"notes":null,"status":"normal","functions":[],"variables":{},"serial_number":"","mac_wifi":"","system_firmware_version":"5.0.0","owner":"597771d1f92bae142dbb7559","firmware_updates_enabled":true,"firmware_updates_forced":false,"firmware_product_id":30301,"groups":[],"firmware_version":null,"desired_firmware_version":null,"targeted_firmware_release_version":null,"development":false,"quarantined":false,"denied":false}"#
        )
        // Runs version 3 (its Hello), the product released 5, updates disabled on the device.
        device.firmwareVersion = 3
        device.defaultFirmwareVersion = 5
        device.firmwareUpdatesEnabled = false
        device.firmwareUpdatesForced = true
        device.development = true
        #expect(
            device.productJSON.serialized
                == #"{"id":"0123456789abcdef01234567","name":"weatherman","last_app":"","last_ip_address":"203.0.113.7","last_heard":"2024-05-13T10:55:40.306Z","last_handshake_at":"2024-05-13T10:55:12.000Z","product_id":30301,"platform_id":12,"online":true,"connected":true,"cellular":false,"notes":null,"status":"normal","functions":[],"variables":{},"serial_number":"","mac_wifi":"","system_firmware_version":"5.0.0","owner":"597771d1f92bae142dbb7559","firmware_updates_enabled":false,"firmware_updates_forced":true,"firmware_product_id":30301,"groups":[],"firmware_version":3,"desired_firmware_version":null,"targeted_firmware_release_version":5,"development":true,"quarantined":false,"denied":false}"#
        )
        // Locked to 4: that is its target.
        device.desiredFirmwareVersion = 4
        #expect(device.productJSON["desired_firmware_version"] == .int(4))
        #expect(device.productJSON["targeted_firmware_release_version"] == .int(4))
        #expect(device.detailJSON["firmware_updates_enabled"] == .bool(false))
        #expect(device.detailJSON["firmware_updates_forced"] == .bool(true))
    }

    private func keys(_ value: JSONValue) -> [String] {
        guard case .object(let members) = value else { return [] }
        return members.map(\.0)
    }
}
