import AerosolModels
import Foundation
import Testing

@Suite("Event JSON")
struct EventJSONTests {
    /// 2015-07-18T00:12:18.174Z, the time of a captured Particle event.
    static let captureTime = Date(timeIntervalSince1970: 1_437_178_338.174)

    static func apiEvent(data: String? = "25.34", ttl: Int = Event.defaultTTL) -> Event {
        Event(
            id: 1,
            name: "temperature",
            data: data,
            ttl: ttl,
            publishedAt: captureTime,
            coreID: Event.apiCoreID,
            userID: "597771d1f92bae142dbb7559",
            productID: nil
        )
    }

    @Test("sandboxJSON is exactly the original's data line")
    func sandboxJSON() {
        #expect(
            Self.apiEvent().sandboxJSON
                == #"{"data":"25.34","ttl":60,"published_at":"2015-07-18T00:12:18.174Z","coreid":"api"}"#
        )
    }

    @Test("sandboxJSON of a device event carries the device id as coreid")
    func sandboxJSONDevice() {
        var event = Self.apiEvent()
        event.coreID = "0123456789abcdef01234567"
        #expect(
            event.sandboxJSON
                == #"{"data":"25.34","ttl":60,"published_at":"2015-07-18T00:12:18.174Z","coreid":"0123456789abcdef01234567"}"#
        )
    }

    @Test("An event without data has \"data\":null")
    func nullData() {
        #expect(
            Self.apiEvent(data: nil).sandboxJSON
                == #"{"data":null,"ttl":60,"published_at":"2015-07-18T00:12:18.174Z","coreid":"api"}"#
        )
        #expect(Self.apiEvent(data: nil).productJSON.hasPrefix(#"{"data":null,"ttl":60,"#))
    }

    @Test("Empty data is an empty string, not null")
    func emptyData() {
        #expect(Self.apiEvent(data: "").sandboxJSON.hasPrefix(#"{"data":"","ttl":60,"#))
    }

    @Test("ttl is a number, echoed as published")
    func ttl() {
        #expect(Self.apiEvent(ttl: 120).sandboxJSON.contains(#","ttl":120,"#))
        #expect(Event.defaultTTL == 60)
    }

    @Test("Data with newlines, quotes and control characters stays on one line and decodes back")
    func escapedData() throws {
        let data = "{\"temp\":25.34}\r\nline two\n\ttabbed \\ \u{01} °C 😀"
        let event = Self.apiEvent(data: data)
        for json in [event.sandboxJSON, event.productJSON] {
            #expect(!json.utf8.contains { $0 == 0x0A || $0 == 0x0D })
            let object = try #require(JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
            #expect(object["data"] as? String == data)
        }
    }

    @Test("productJSON matches the spec's product-stream example")
    func productJSON() {
        let event = Event(
            id: 9,
            name: "particle/device/updates/forced",
            data: "false",
            publishedAt: Date(timeIntervalSince1970: 1_715_597_713.748),
            coreID: "e00fce68ece1d3d21a73dcc9",
            userID: "597771d1f92bae142dbb7559",
            productID: 30301,
            productVersion: 1
        )
        #expect(
            event.productJSON
                == #"{"data":"false","ttl":60,"published_at":"2024-05-13T10:55:13.748Z","coreid":"e00fce68ece1d3d21a73dcc9","userid":"597771d1f92bae142dbb7559","version":1,"public":false,"productID":30301}"#
        )
    }

    @Test("productJSON is the sandbox fields, then userid, version, public and productID")
    func productJSONOrder() {
        var event = Self.apiEvent()
        event.productID = 7
        event.productVersion = 3
        let sandbox = event.sandboxJSON
        let product = event.productJSON
        #expect(product.hasPrefix(String(sandbox.dropLast()) + ","))
        #expect(product.hasSuffix(#","userid":"597771d1f92bae142dbb7559","version":3,"public":false,"productID":7}"#))
    }

    @Test("productJSON of an unowned event without a version has an empty userid and version 0")
    func productJSONDefaults() {
        let event = Event(
            id: 2,
            name: "hook-sent/temperature",
            data: "",
            publishedAt: Self.captureTime,
            coreID: Event.internalCoreID,
            userID: nil,
            productID: 30301
        )
        #expect(
            event.productJSON
                == #"{"data":"","ttl":60,"published_at":"2015-07-18T00:12:18.174Z","coreid":"particle-internal","userid":"","version":0,"public":false,"productID":30301}"#
        )
    }

    @Test("The event name is not inside the data JSON")
    func nameNotInData() {
        let event = Self.apiEvent()
        #expect(!event.sandboxJSON.contains("temperature"))
        #expect(!event.productJSON.contains("temperature"))
    }

    @Test("An event draft becomes an event with the log's id and the same fields")
    func draft() {
        let draft = EventDraft(
            name: "temperature",
            data: "25.34",
            ttl: 30,
            publishedAt: Self.captureTime,
            coreID: "0123456789abcdef01234567",
            userID: "u",
            productID: 5,
            productVersion: 2
        )
        let event = draft.event(id: 42)
        #expect(
            event
                == Event(
                    id: 42,
                    name: "temperature",
                    data: "25.34",
                    ttl: 30,
                    publishedAt: Self.captureTime,
                    coreID: "0123456789abcdef01234567",
                    userID: "u",
                    productID: 5,
                    productVersion: 2
                )
        )
    }
}
