import AerosolModels
import Foundation
import SQLKit

/// Products and their members.
public struct ProductStore: Sendable {
    let database: Database

    /// A store on `database`.
    public init(database: Database) {
        self.database = database
    }

    /// Creates a product and makes `creatorID` its first member (role `owner`).
    /// Throws `conflict` when the slug is taken, `invalid` for a bad name or slug.
    public func create(
        name: String,
        slug requestedSlug: String?,
        description: String,
        platformID: Int?,
        creatorID: String
    ) async throws -> Product {
        let name = name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (1...100).contains(name.count) else { throw StoreError.invalid("name must have 1 to 100 characters") }
        let slug = requestedSlug ?? Product.slug(from: name)
        guard Product.isValidSlug(slug) else {
            throw StoreError.invalid(
                "slug must have 1 to 64 characters among a-z, 0-9 and -, and not be all digits (got \"\(slug)\")"
            )
        }
        let now = Date()
        do {
            let id = try await database.transaction { sql in
                let row = try await sql.raw(
                    """
                    INSERT INTO products (slug, name, description, platform_id, created_at)
                    VALUES (\(bind: slug), \(bind: name), \(bind: description), \(bind: platformID), \(bind: Timestamp.milliseconds(now)))
                    RETURNING id
                    """
                ).first()
                guard let id = try row?.decode(column: "id", as: Int.self) else {
                    throw StoreError.unavailable("the database returned no product id")
                }
                try await sql.raw(
                    "INSERT INTO product_members (product_id, user_id, role) VALUES (\(bind: id), \(bind: creatorID), 'owner')"
                ).run()
                return id
            }
            return Product(
                id: id,
                slug: slug,
                name: name,
                description: description,
                platformID: platformID,
                createdAt: now
            )
        } catch  where Database.isUniqueViolation(error) {
            throw StoreError.conflict("a product with the slug \(slug) already exists")
        }
    }

    /// The products `userID` is a member of, by id.
    public func list(memberID userID: String) async throws -> [Product] {
        try await database.sql.raw(
            """
            SELECT p.* FROM products p JOIN product_members m ON m.product_id = p.id
            WHERE m.user_id = \(bind: userID) ORDER BY p.id
            """
        ).all().map(Self.product)
    }

    /// The product with this numeric id or slug, if any.
    public func find(idOrSlug: String) async throws -> Product? {
        let row: (any SQLRow)?
        if let id = Int(idOrSlug) {
            row = try await database.sql.raw("SELECT * FROM products WHERE id = \(bind: id)").first()
        } else {
            row = try await database.sql.raw("SELECT * FROM products WHERE slug = \(bind: idOrSlug)").first()
        }
        return try row.map(Self.product)
    }

    /// Whether `userID` is a member of the product.
    public func isMember(productID: Int, userID: String) async throws -> Bool {
        try await Self.isMember(database.sql, productID: productID, userID: userID)
    }

    /// ``isMember(productID:userID:)`` inside a transaction.
    static func isMember(_ sql: any SQLDatabase, productID: Int, userID: String) async throws -> Bool {
        try await sql.raw(
            "SELECT 1 AS one FROM product_members WHERE product_id = \(bind: productID) AND user_id = \(bind: userID)"
        ).first() != nil
    }

    static func product(_ row: any SQLRow) throws -> Product {
        Product(
            id: try row.decode(column: "id", as: Int.self),
            slug: try row.decode(column: "slug", as: String.self),
            name: try row.decode(column: "name", as: String.self),
            description: try row.decode(column: "description", as: String.self),
            platformID: try row.decode(column: "platform_id", as: Int?.self),
            createdAt: Timestamp.date(milliseconds: try row.decode(column: "created_at", as: Int64.self))
        )
    }
}
