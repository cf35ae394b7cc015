/// One TLV extension of a module prefix or suffix: `type: u16 LE, length: u16 LE` where the
/// length counts the 4-byte header (Device OS `module_info_extension_t`; binary-version-reader
/// `_readExtension`).
public struct ModuleExtension: Hashable, Sendable {
    /// The extension type, for example ``securityMode``.
    public var type: UInt16
    /// Its offset in the file.
    public var offset: Int
    /// Its length including the 4-byte header.
    public var length: Int

    /// Creates an extension record.
    public init(type: UInt16, offset: Int, length: Int) {
        self.type = type
        self.offset = offset
        self.length = length
    }

    /// Type 0: the last extension.
    public static let end: UInt16 = 0x0000
    /// Type 1: product ID and version (RTL872x suffixes).
    public static let productData: UInt16 = 0x0001
    /// Type 2: dynamic location (RTL872x).
    public static let dynamicLocation: UInt16 = 0x0002
    /// Type 0x13: security mode (modules for protected devices).
    public static let securityMode: UInt16 = 0x0013
    /// Type 0xFFFF: an invalid (erased) extension; parsing stops there.
    public static let invalid: UInt16 = 0xFFFF

    /// Reads the extensions in `bytes` from `start` (an index of `bytes`) until END, an invalid
    /// extension, a malformed length or `limit`; `base` is the file offset of `bytes`' first
    /// element. Returns the extensions and whether an END was seen.
    static func parse(_ bytes: ArraySlice<UInt8>, from start: Int, limit: Int, base: Int) -> (
        extensions: [ModuleExtension], ended: Bool
    ) {
        var extensions: [ModuleExtension] = []
        var index = start
        while index + 4 <= limit {
            let type = UInt16(bytes[index]) | UInt16(bytes[index + 1]) << 8
            let length = Int(UInt16(bytes[index + 2]) | UInt16(bytes[index + 3]) << 8)
            guard type != Self.invalid, length >= 4, index + length <= limit else { break }
            extensions.append(ModuleExtension(type: type, offset: base + index - bytes.startIndex, length: length))
            if type == Self.end { return (extensions, true) }
            index += length
        }
        return (extensions, false)
    }
}
