/// The module suffix, read backwards from the module's end (binary-version-reader
/// `_readSuffix`; Device OS `module_info_suffix_t` and `build/arm/linker/linker_module_end.ld`):
/// `[extensions][product ID u16][product version u16][reserved u16][SHA-256][size u16][CRC-32 BE]`.
public struct ModuleSuffix: Hashable, Sendable {
    /// The suffix size field: 36 (base), 40 (with product ID and version), more with extensions.
    public var size: Int
    /// The SHA-256 stored in the suffix: the module's identity (Describe `u`, app hash).
    public var sha256: [UInt8]
    /// Product ID, for suffixes of at least 40 bytes. Since Device OS 4 the platform ID.
    public var productID: UInt16?
    /// Product firmware version (`PRODUCT_VERSION`), for suffixes of at least 40 bytes. Read from
    /// the two bytes in front of the reserved field, where both binary-version-reader and the
    /// virtual device read it.
    public var productVersion: UInt16?
    /// Suffix extensions (RTL872x), best effort.
    public var extensions: [ModuleExtension]

    /// Creates a suffix record.
    public init(
        size: Int,
        sha256: [UInt8],
        productID: UInt16? = nil,
        productVersion: UInt16? = nil,
        extensions: [ModuleExtension] = []
    ) {
        self.size = size
        self.sha256 = sha256
        self.productID = productID
        self.productVersion = productVersion
        self.extensions = extensions
    }

    /// The smallest suffix: reserved, SHA-256 and the size field.
    public static let minimumSize = 36
}
