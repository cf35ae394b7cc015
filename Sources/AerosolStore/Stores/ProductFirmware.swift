import Foundation

/// A firmware version uploaded to a product: its metadata (the binary lives in the data
/// directory under its SHA-256).
public struct ProductFirmware: Hashable, Sendable {
    /// The product.
    public var productID: Int
    /// The product firmware version (the binary's `PRODUCT_VERSION`).
    public var version: Int
    /// A short title.
    public var title: String
    /// A longer description.
    public var description: String
    /// The binary's size in bytes.
    public var size: Int
    /// Lowercase hex SHA-256 of the binary, which names its file.
    public var fileSHA256: String
    /// When it was uploaded.
    public var uploadedAt: Date
    /// When it was first released, if it was.
    public var releasedAt: Date?
    /// Whether it is the product's default release (what its devices should run).
    public var isProductDefault: Bool

    /// Creates a record.
    public init(
        productID: Int,
        version: Int,
        title: String,
        description: String,
        size: Int,
        fileSHA256: String,
        uploadedAt: Date,
        releasedAt: Date? = nil,
        isProductDefault: Bool = false
    ) {
        self.productID = productID
        self.version = version
        self.title = title
        self.description = description
        self.size = size
        self.fileSHA256 = fileSHA256
        self.uploadedAt = uploadedAt
        self.releasedAt = releasedAt
        self.isProductDefault = isProductDefault
    }
}
