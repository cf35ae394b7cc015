/// The flags byte of the module prefix (Device OS `module_info_flags_t`, offset 9).
public struct ModuleFlags: OptionSet, Hashable, Sendable {
    /// The raw byte.
    public var rawValue: UInt8

    /// Creates flags from their raw byte.
    public init(rawValue: UInt8) {
        self.rawValue = rawValue
    }

    /// `0x01`: the compressed payload leaves out the original prefix and suffix.
    public static let dropModuleInfo = ModuleFlags(rawValue: 0x01)
    /// `0x02`: the body is raw DEFLATE data behind a compression header.
    public static let compressed = ModuleFlags(rawValue: 0x02)
    /// `0x04`: another module follows this one in the same file.
    public static let combined = ModuleFlags(rawValue: 0x04)
    /// `0x08`: the body is encrypted.
    public static let encrypted = ModuleFlags(rawValue: 0x08)
    /// `0x10`: TLV extensions follow the 24-byte prefix.
    public static let prefixExtensions = ModuleFlags(rawValue: 0x10)

    /// Every flag Device OS defines; others are unknown.
    public static let known: ModuleFlags = [.dropModuleInfo, .compressed, .combined, .encrypted, .prefixExtensions]
}
