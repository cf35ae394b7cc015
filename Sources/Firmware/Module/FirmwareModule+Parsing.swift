extension FirmwareModule {
    /// The smallest possible module: a 24-byte prefix, a 36-byte suffix and the CRC-32.
    public static let minimumLength = 24 + 36 + 4

    /// Size of the prefix without extensions.
    static let prefixSize = 24

    /// Offsets tried first for the prefix (binary-version-reader `_findModulePrefixOffset`): user
    /// apps and most modules, Gen 3 (after the 0x200-byte nRF52840 vector table), Gen 2 (0x184),
    /// and two deprecated platforms. After these every 4-byte step up to ``prefixSearchLimit``.
    static let preferredPrefixOffsets = [0, 0x200, 0x184, 0xC0, 0x10C]

    /// The furthest offset searched for a prefix; anything beyond 8 KiB is not a module.
    static let prefixSearchLimit = 8 * 1024

    /// Parses every module of `image`: one for an ordinary file, several for a combined one
    /// (each module but the last flagged ``ModuleFlags/combined``).
    ///
    /// Reads the first 8 KiB of each module and its last 44 bytes (plus any suffix extensions),
    /// never the whole image. Checksums are not verified here.
    ///
    /// - Throws: ``FirmwareError/tooShort(length:)``, ``FirmwareError/noModulePrefix``,
    ///   ``FirmwareError/truncated(declared:actual:module:)``,
    ///   ``FirmwareError/trailingBytes(declared:actual:)``,
    ///   ``FirmwareError/missingCombinedModule(after:)``,
    ///   ``FirmwareError/invalidDependency(number:_:)``,
    ///   ``FirmwareError/invalidPrefixExtensions``, ``FirmwareError/invalidCompressionHeader``,
    ///   or the image's read error.
    public static func modules(in image: some FirmwareImage) throws(FirmwareError) -> [FirmwareModule] {
        guard image.count >= Self.minimumLength else { throw .tooShort(length: image.count) }
        var modules: [FirmwareModule] = []
        var offset = 0
        while true {
            let module = try Self.locate(in: image, at: offset, number: modules.count + 1)
            modules.append(module)
            offset += module.length
            guard module.flags.contains(.combined) else { break }
            guard image.count - offset >= Self.minimumLength else {
                throw .missingCombinedModule(after: modules.count)
            }
        }
        if offset != image.count { throw .trailingBytes(declared: offset, actual: image.count) }
        return modules
    }

    /// Finds and parses the module that starts at `offset`.
    private static func locate(in image: some FirmwareImage, at offset: Int, number: Int) throws(FirmwareError)
        -> FirmwareModule
    {
        let remaining = image.count - offset
        let head = try image.bytes(in: offset..<(offset + min(remaining, Self.prefixSearchLimit + Self.prefixSize)))
        let lastCandidate = min(Self.prefixSearchLimit, remaining - Self.minimumLength)
        var candidates = Self.preferredPrefixOffsets.filter { $0 <= lastCandidate }
        candidates += stride(from: 4, through: max(lastCandidate, 0), by: 4).filter {
            !Self.preferredPrefixOffsets.contains($0)
        }
        for candidate in candidates {
            let prefix = ModulePrefix(head, at: head.startIndex + candidate)
            if prefix.isAcceptable(remaining: remaining, at: candidate) {
                return try Self.parse(prefix, in: image, offset: offset, prefixOffset: candidate, number: number)
            }
        }
        throw Self.diagnose(ModulePrefix(head, at: head.startIndex), remaining: remaining, number: number)
    }

    /// Says why the bytes at the module's start are not an acceptable prefix, when they look
    /// enough like one to be sure it was meant to be.
    private static func diagnose(_ prefix: ModulePrefix, remaining: Int, number: Int) -> FirmwareError {
        guard prefix.looksLikePrefix else { return .noModulePrefix }
        if prefix.declaredLength > remaining {
            return .truncated(declared: prefix.declaredLength, actual: remaining, module: number)
        }
        for (slot, dependency) in prefix.dependencies.enumerated()
        where dependency.isEmpty && (dependency.index != 0 || dependency.version != 0) {
            return .invalidDependency(number: slot + 1, dependency)
        }
        if prefix.declaredLength < remaining, !prefix.flags.contains(.combined) {
            return .trailingBytes(declared: prefix.declaredLength, actual: remaining)
        }
        return .noModulePrefix
    }

    /// Builds the module from an accepted prefix: extensions, compression header, suffix.
    private static func parse(
        _ prefix: ModulePrefix,
        in image: some FirmwareImage,
        offset: Int,
        prefixOffset: Int,
        number: Int
    ) throws(FirmwareError) -> FirmwareModule {
        let length = prefix.declaredLength
        // Everything between the prefix and the smallest suffix may hold extensions and the
        // compression header; read at most 4 KiB of it.
        let afterPrefix = offset + prefixOffset + Self.prefixSize
        let bodyEnd = offset + length - ModuleSuffix.minimumSize - 4
        var extensions: [ModuleExtension] = []
        var headerStart = afterPrefix
        if prefix.flags.contains(.prefixExtensions) {
            let area = try image.bytes(in: afterPrefix..<max(afterPrefix, min(bodyEnd, afterPrefix + 4096)))
            let parsed = ModuleExtension.parse(area, from: area.startIndex, limit: area.endIndex, base: afterPrefix)
            guard parsed.ended else { throw .invalidPrefixExtensions }
            extensions = parsed.extensions
            headerStart = parsed.extensions.last.map { $0.offset + $0.length } ?? afterPrefix
        }
        var compression: CompressionHeader?
        if prefix.flags.contains(.compressed) {
            guard headerStart + 8 <= bodyEnd else { throw .invalidCompressionHeader }
            let bytes = try image.bytes(in: headerStart..<(headerStart + 8))
            let b = Array(bytes)
            compression = CompressionHeader(
                size: UInt16(b[0]) | UInt16(b[1]) << 8,
                method: b[2],
                windowBits: b[3],
                originalSize: UInt32(b[4]) | UInt32(b[5]) << 8 | UInt32(b[6]) << 16 | UInt32(b[7]) << 24
            )
        }
        let (suffix, crc) = try Self.suffix(in: image, moduleStart: offset, length: length)
        return FirmwareModule(
            offset: offset,
            length: length,
            prefixOffset: offset + prefixOffset,
            startAddress: prefix.start,
            endAddress: prefix.end,
            mcuTarget: prefix.mcuTarget,
            flags: prefix.flags,
            version: prefix.version,
            platformID: prefix.platformID,
            function: prefix.function,
            index: prefix.index,
            dependencySlots: prefix.dependencies,
            prefixExtensions: extensions,
            compression: compression,
            suffix: suffix,
            storedCRC: crc
        )
    }

    /// Reads the suffix backwards from the module's end (binary-version-reader `_readSuffix`).
    /// A suffix size outside the valid range is kept as read: ``FirmwareValidator`` reports it.
    private static func suffix(in image: some FirmwareImage, moduleStart: Int, length: Int) throws(FirmwareError)
        -> (ModuleSuffix, UInt32)
    {
        let end = moduleStart + length
        let tail = Array(try image.bytes(in: (end - 44)..<end))
        func u16(_ index: Int) -> UInt16 { UInt16(tail[index]) | UInt16(tail[index + 1]) << 8 }
        let crc = UInt32(tail[40]) << 24 | UInt32(tail[41]) << 16 | UInt32(tail[42]) << 8 | UInt32(tail[43])
        let size = Int(u16(38))
        var suffix = ModuleSuffix(size: size, sha256: Array(tail[6..<38]))
        if size >= 40 {
            suffix.productID = u16(0)
            suffix.productVersion = u16(2)
        }
        if size > 40, size <= length - 28 {
            // Extensions sit in front of the product fields; a malformed list is ignored.
            let start = end - 4 - size
            let area = try image.bytes(in: start..<(end - 44))
            suffix.extensions =
                ModuleExtension.parse(area, from: area.startIndex, limit: area.endIndex, base: start)
                .extensions
        }
        return (suffix, crc)
    }
}
