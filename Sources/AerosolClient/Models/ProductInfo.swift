import AerosolModels

/// A product as the API describes it.
public struct ProductInfo: Sendable, Equatable {
    /// The numeric id.
    public var id: Int
    /// The slug (usable in place of the id).
    public var slug: String
    /// The display name.
    public var name: String
    /// The description.
    public var description: String

    init(_ json: JSONValue) throws {
        guard let id = json["id"]?.intValue, let slug = json["slug"]?.stringValue else {
            throw ClientError.unexpected("a product without id or slug", status: 200)
        }
        self.id = Int(id)
        self.slug = slug
        self.name = json["name"]?.stringValue ?? slug
        self.description = json["description"]?.stringValue ?? ""
    }
}
