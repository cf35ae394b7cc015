import AerosolModels
import Foundation
import Testing

@Suite("Product")
struct ProductTests {
    @Test(
        "Valid slugs: 1–64 of a-z, 0-9 and -, not all digits",
        arguments: [
            "my-product", "a", "weather-station-2", "2024-fleet", "x1", String(repeating: "a", count: 64),
            String(repeating: "1", count: 63) + "a",
        ]
    )
    func validSlug(_ slug: String) {
        #expect(Product.isValidSlug(slug))
    }

    @Test(
        "Invalid slugs",
        arguments: [
            "", "123", "0", "My-Product", "my product", "my_product", "my.product", "my/product", "produkt-ü",
            "😀", String(repeating: "a", count: 65), "café",
        ]
    )
    func invalidSlug(_ slug: String) {
        #expect(!Product.isValidSlug(slug))
    }

    @Test(
        "slug(from:) lower-cases and joins runs of other characters with one dash",
        arguments: [
            ("My Product!", "my-product"),
            ("Weather Station", "weather-station"),
            ("  Weather   Station  ", "weather-station"),
            ("--weather--station--", "weather-station"),
            ("Fleet #2 (EU)", "fleet-2-eu"),
            ("already-a-slug", "already-a-slug"),
            ("CamelCase42", "camelcase42"),
            ("a_b.c/d", "a-b-c-d"),
        ]
    )
    func slugFromName(_ name: String, _ expected: String) {
        #expect(Product.slug(from: name) == expected)
        #expect(Product.isValidSlug(Product.slug(from: name)))
    }

    @Test("slug(from:) is at most 60 characters")
    func slugLength() {
        #expect(Product.slug(from: String(repeating: "a", count: 100)) == String(repeating: "a", count: 60))
        #expect(Product.slug(from: String(repeating: "ab ", count: 40)).utf8.count <= 60)
    }

    @Test("slug(from:) gives only a-z, 0-9 and single inner dashes, whatever the name")
    func slugAlphabet() {
        let names = [
            "Über Cool Ünïcödé", "日本の製品", "Température °C", "😀 Party 😀", "\n\tTabs\r\n", "A", "!!!",
            String(repeating: "Long Name ", count: 3),
        ]
        for name in names {
            let slug = Product.slug(from: name)
            #expect(slug.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D })
            #expect(!slug.hasPrefix("-"), "\(slug)")
            #expect(!slug.hasSuffix("-"), "\(slug)")
            #expect(!slug.contains("--"), "\(slug)")
            #expect(slug.utf8.count <= 60)
        }
    }

    /// Bug: `slug(from:)` trims trailing dashes and then truncates to 60 characters, so a cut just
    /// after a dash leaves the slug ending in `-`.
    @Test("slug(from:) never ends with a dash, even when truncated")
    func slugTruncatedAfterDash() {
        let slug = Product.slug(from: String(repeating: "a", count: 59) + " station")
        #expect(slug.utf8.count <= 60)
        #expect(slug == String(repeating: "a", count: 59))
    }

    @Test("The product JSON has the Cloud API fields in order")
    func json() {
        let product = Product(
            id: 30301,
            slug: "weather",
            name: "Weather \"Fleet\"",
            description: "",
            platformID: 12,
            createdAt: Date(timeIntervalSince1970: 1_715_597_713.748)
        )
        #expect(
            product.json.serialized
                == #"{"id":30301,"platform_id":12,"name":"Weather \"Fleet\"","slug":"weather","description":"","subscription_id":null,"groups":[],"settings":{},"created_at":"2024-05-13T10:55:13.748Z"}"#
        )
        var noPlatform = product
        noPlatform.platformID = nil
        #expect(noPlatform.json["platform_id"] == .null)
    }
}
