import Foundation

/// A product: a fleet of devices with shared streams, addressed by numeric id or slug.
public struct Product: Sendable, Hashable {
    /// The numeric product id.
    public var id: Int
    /// The URL-safe unique slug.
    public var slug: String
    /// The display name.
    public var name: String
    /// A free-form description.
    public var description: String
    /// The Device OS platform id, if set.
    public var platformID: Int?
    /// When it was created.
    public var createdAt: Date

    /// Creates a product value.
    public init(id: Int, slug: String, name: String, description: String, platformID: Int?, createdAt: Date) {
        self.id = id
        self.slug = slug
        self.name = name
        self.description = description
        self.platformID = platformID
        self.createdAt = createdAt
    }

    /// The product object of the Cloud API.
    public var json: JSONValue {
        .object([
            ("id", .int(Int64(id))),
            ("platform_id", .int(platformID)),
            ("name", .string(name)),
            ("slug", .string(slug)),
            ("description", .string(description)),
            ("subscription_id", .null),
            ("groups", .array([])),
            ("settings", .object([])),
            ("created_at", .timestamp(createdAt)),
        ])
    }

    /// Whether `text` is a valid slug: 1–64 of `a-z`, `0-9` and `-`, not all digits.
    public static func isValidSlug(_ text: String) -> Bool {
        guard (1...64).contains(text.utf8.count) else { return false }
        guard text.utf8.allSatisfy({ ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D })
        else { return false }
        return !text.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
    }

    /// A slug derived from a product name (`My Product!` → `my-product`).
    public static func slug(from name: String) -> String {
        var slug = ""
        var lastWasDash = true
        for scalar in name.lowercased().unicodeScalars {
            if (scalar >= "a" && scalar <= "z") || (scalar >= "0" && scalar <= "9") {
                slug.unicodeScalars.append(scalar)
                lastWasDash = false
            } else if !lastWasDash {
                slug += "-"
                lastWasDash = true
            }
        }
        slug = String(slug.prefix(60))
        while slug.hasSuffix("-") { slug.removeLast() }
        // Keep the result a valid slug: never empty, never all digits.
        if slug.isEmpty { return "product" }
        if slug.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) { return "product-" + slug }
        return slug
    }
}
