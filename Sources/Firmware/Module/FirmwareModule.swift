/// One firmware module as its prefix and suffix describe it: `[prefix][body][suffix][CRC-32]`
/// (Device OS `dynalib/inc/module_info.h`, `build/arm/linker/linker_module_end.ld`;
/// binary-version-reader `lib/HalModuleParser.js`).
///
/// Parse the modules of a file with ``modules(in:)``; a single module fills the file, a combined
/// file holds several back to back. Parsing reads only the prefix area and the suffix, never the
/// whole image; the checksums are verified by ``FirmwareValidator``.
public struct FirmwareModule: Hashable, Sendable {
    /// Where the module starts in the file.
    public var offset: Int
    /// Its length in bytes, CRC included: `endAddress − startAddress + 4`.
    public var length: Int
    /// Where its 24-byte prefix is, from the start of the file (0 for user apps; after the
    /// vector table for system parts: 0x200 on Gen 3, 0x184 on Gen 2).
    public var prefixOffset: Int
    /// `module_start_address`.
    public var startAddress: UInt32
    /// `module_end_address` (exclusive; the CRC-32 is stored there).
    public var endAddress: UInt32
    /// The reserved byte (MCU target on Gen 3).
    public var mcuTarget: UInt8
    /// Prefix flags.
    public var flags: ModuleFlags
    /// Module version: an ABI number for user parts (6), the Device OS module version for system
    /// parts (5800 for 5.8.0).
    public var version: UInt16
    /// The platform the module was built for.
    public var platformID: UInt16
    /// What the module is for.
    public var function: ModuleFunction
    /// Module index (system part 1, 2, …; 1 for user parts).
    public var index: UInt8
    /// The two dependency slots of the prefix, empty ones included.
    public var dependencySlots: [ModuleDependency]
    /// Prefix extensions, if the prefix flags say they follow.
    public var prefixExtensions: [ModuleExtension]
    /// The compression header of a compressed module.
    public var compression: CompressionHeader?
    /// The suffix.
    public var suffix: ModuleSuffix
    /// The CRC-32 stored after the suffix (big-endian in the file).
    public var storedCRC: UInt32

    /// Creates a module record.
    public init(
        offset: Int,
        length: Int,
        prefixOffset: Int,
        startAddress: UInt32,
        endAddress: UInt32,
        mcuTarget: UInt8 = 0,
        flags: ModuleFlags = [],
        version: UInt16,
        platformID: UInt16,
        function: ModuleFunction,
        index: UInt8,
        dependencySlots: [ModuleDependency],
        prefixExtensions: [ModuleExtension] = [],
        compression: CompressionHeader? = nil,
        suffix: ModuleSuffix,
        storedCRC: UInt32
    ) {
        self.offset = offset
        self.length = length
        self.prefixOffset = prefixOffset
        self.startAddress = startAddress
        self.endAddress = endAddress
        self.mcuTarget = mcuTarget
        self.flags = flags
        self.version = version
        self.platformID = platformID
        self.function = function
        self.index = index
        self.dependencySlots = dependencySlots
        self.prefixExtensions = prefixExtensions
        self.compression = compression
        self.suffix = suffix
        self.storedCRC = storedCRC
    }

    /// The non-empty dependencies.
    public var dependencies: [ModuleDependency] { self.dependencySlots.filter { !$0.isEmpty } }

    /// The bytes the CRC-32 covers: the module without its last 4 bytes.
    public var crcRange: Range<Int> { self.offset..<(self.offset + self.length - 4) }

    /// The bytes the suffix SHA-256 covers: everything before the SHA field.
    public var shaRange: Range<Int> { self.offset..<(self.offset + self.length - 38) }

    /// The module's bytes in the file.
    public var range: Range<Int> { self.offset..<(self.offset + self.length) }

    /// The SHA-256 of the suffix as lower-case hex: the value Describe reports as `u` and the
    /// `spark/device/app-hash` event carries.
    public var hashHex: String { FirmwareError.hex(self.suffix.sha256) }
}
