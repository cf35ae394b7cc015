import AerosolModels
import Foundation
import Testing

private func event(
    name: String = "temperature",
    coreID: String = "0123456789abcdef01234567",
    userID: String? = "user-a",
    productID: Int? = nil
) -> Event {
    Event(
        id: 1,
        name: name,
        data: "25.34",
        publishedAt: Date(timeIntervalSince1970: 1_437_178_338.174),
        coreID: coreID,
        userID: userID,
        productID: productID
    )
}

@Suite("EventFilter: prefix")
struct EventFilterPrefixTests {
    @Test(
        "Prefix matching is case-sensitive, byte-wise, with no wildcards and no segments",
        arguments: [
            ("temperature", "temp", true),
            ("temp/basement", "temp", true),
            ("temp", "temp", true),
            ("Temp", "temp", false),
            ("TEMPERATURE", "temp", false),
            ("high_temp", "temp", false),
            ("te", "temp", false),
            ("temp/basement", "temp/", true),
            ("temp", "temp/", false),
            ("temperature", "temp*", false),
            ("temp*x", "temp*", true),
            ("temperature", "t.mp", false),
            ("spark/status", "spark", true),
            ("spark/status/safe-mode", "spark/status", true),
            ("hook-response/temp/0", "hook-response/temp", true),
            ("anything", "", true),
            ("", "", true),
            ("", "a", false),
            (" temp", "temp", false),
        ]
    )
    func prefix(_ name: String, _ prefix: String, _ expected: Bool) {
        #expect(EventFilter.name(name, hasPrefix: prefix) == expected)
        let filter = EventFilter(scope: .user("user-a"), prefix: prefix)
        #expect(filter.matches(event(name: name)) == expected)
    }

    @Test(
        "Prefix matching on non-ASCII names compares UTF-8 bytes, not characters",
        arguments: [
            ("température", "temp", true),
            ("température", "tempé", true),
            ("café/x", "café", true),
            ("cafe", "café", false),
            ("CAFÉ", "café", false),
            // Decomposed é (e + U+0301) does not start with precomposed é (U+00E9), though they are
            // canonically equivalent and String.hasPrefix would say yes.
            ("e\u{301}tude", "\u{E9}", false),
            // Byte-wise, "e" is a prefix of decomposed "é", though not of its first Character.
            ("e\u{301}tude", "e", true),
            ("😀/up", "😀", true),
            ("日本/東京", "日本", true),
            ("日本", "日本/", false),
        ]
    )
    func nonASCIIPrefix(_ name: String, _ prefix: String, _ expected: Bool) {
        #expect(EventFilter.name(name, hasPrefix: prefix) == expected)
    }

    @Test("An empty prefix is the default and matches every name")
    func emptyPrefixDefault() {
        let filter = EventFilter(scope: .user("user-a"))
        #expect(filter.prefix == "")
        for name in ["a", "spark/status", "hook-sent/x", "😀", "Z"] {
            #expect(filter.matches(event(name: name)))
        }
    }
}

@Suite("EventFilter: scope")
struct EventFilterScopeTests {
    let device = "0123456789abcdef01234567"
    let otherDevice = "e00fce68ece1d3d21a73dcc9"

    @Test("A user scope holds the events owned by that user")
    func userScope() {
        let scope = EventFilter.Scope.user("user-a")
        #expect(scope.contains(event(userID: "user-a")))
        #expect(scope.contains(event(coreID: Event.apiCoreID, userID: "user-a")))
        #expect(scope.contains(event(userID: "user-a", productID: 5)))
        #expect(!scope.contains(event(userID: "user-b")))
        #expect(!scope.contains(event(userID: nil)))
    }

    @Test("A device scope holds that device's events, whoever owns them")
    func deviceScope() {
        let scope = EventFilter.Scope.device(device)
        #expect(scope.contains(event(coreID: device)))
        #expect(scope.contains(event(coreID: device, userID: nil, productID: 5)))
        #expect(!scope.contains(event(coreID: otherDevice)))
        #expect(!scope.contains(event(coreID: Event.apiCoreID)))
    }

    @Test("A product scope holds the product's events from any device or the API")
    func productScope() {
        let scope = EventFilter.Scope.product(5)
        #expect(scope.contains(event(coreID: device, productID: 5)))
        #expect(scope.contains(event(coreID: otherDevice, userID: nil, productID: 5)))
        #expect(scope.contains(event(coreID: Event.apiCoreID, productID: 5)))
        #expect(scope.contains(event(coreID: Event.internalCoreID, userID: nil, productID: 5)))
        #expect(!scope.contains(event(productID: 6)))
        #expect(!scope.contains(event(productID: nil)))
    }

    @Test("A product-device scope needs both the product and the device")
    func productDeviceScope() {
        let scope = EventFilter.Scope.productDevice(product: 5, device: device)
        #expect(scope.contains(event(coreID: device, productID: 5)))
        #expect(!scope.contains(event(coreID: otherDevice, productID: 5)))
        #expect(!scope.contains(event(coreID: device, productID: 6)))
        #expect(!scope.contains(event(coreID: device, productID: nil)))
    }

    @Test("matches needs both the scope and the prefix")
    func matchesNeedsBoth() {
        let filter = EventFilter(scope: .device(device), prefix: "temp")
        #expect(filter.matches(event(name: "temperature", coreID: device)))
        #expect(!filter.matches(event(name: "humidity", coreID: device)))
        #expect(!filter.matches(event(name: "temperature", coreID: otherDevice)))
    }

    @Test("scopes(of:) lists the device, user, product and product-device scopes, in that order")
    func scopesOf() {
        #expect(
            EventFilter.Scope.scopes(of: event(coreID: device, userID: "user-a", productID: 5)) == [
                .device(device), .user("user-a"), .product(5), .productDevice(product: 5, device: device),
            ]
        )
        #expect(
            EventFilter.Scope.scopes(of: event(coreID: device, userID: "user-a", productID: nil)) == [
                .device(device), .user("user-a"),
            ]
        )
        #expect(
            EventFilter.Scope.scopes(of: event(coreID: Event.internalCoreID, userID: nil, productID: 9)) == [
                .device(Event.internalCoreID), .product(9), .productDevice(product: 9, device: Event.internalCoreID),
            ]
        )
    }

    @Test("scopes(of:) holds exactly the scopes that contain the event, so indexed fan-out equals filtering")
    func scopesOfAgreesWithContains() {
        let devices = [device, otherDevice, Event.apiCoreID]
        let users: [String?] = ["user-a", "user-b", nil]
        let products: [Int?] = [5, 6, nil]
        var candidates: [EventFilter.Scope] = []
        for device in devices {
            candidates.append(.device(device))
            for product in [5, 6] { candidates.append(.productDevice(product: product, device: device)) }
        }
        candidates += [.user("user-a"), .user("user-b"), .product(5), .product(6)]
        for device in devices {
            for user in users {
                for product in products {
                    let published = event(coreID: device, userID: user, productID: product)
                    let indexed = Set(EventFilter.Scope.scopes(of: published))
                    #expect(indexed.count == EventFilter.Scope.scopes(of: published).count, "duplicates")
                    for scope in candidates {
                        #expect(indexed.contains(scope) == scope.contains(published), "\(scope) and \(published)")
                    }
                }
            }
        }
    }

    @Test("Only product streams use the product format")
    func usesProductFormat() {
        #expect(!EventFilter(scope: .user("user-a")).usesProductFormat)
        #expect(!EventFilter(scope: .device(device)).usesProductFormat)
        #expect(EventFilter(scope: .product(5)).usesProductFormat)
        #expect(EventFilter(scope: .productDevice(product: 5, device: device), prefix: "temp").usesProductFormat)
    }
}
