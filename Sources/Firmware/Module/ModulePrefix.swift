/// The 24 bytes of a candidate prefix (`module_info_t`, little-endian).
struct ModulePrefix {
    var start: UInt32
    var end: UInt32
    var mcuTarget: UInt8
    var flags: ModuleFlags
    var version: UInt16
    var platformID: UInt16
    var function: ModuleFunction
    var index: UInt8
    var dependencies: [ModuleDependency]

    /// Reads the prefix at `index` of `bytes`, which must hold 24 bytes from there.
    init(_ bytes: ArraySlice<UInt8>, at index: Int) {
        func u16(_ at: Int) -> UInt16 { UInt16(bytes[index + at]) | UInt16(bytes[index + at + 1]) << 8 }
        func u32(_ at: Int) -> UInt32 { UInt32(u16(at)) | UInt32(u16(at + 2)) << 16 }
        self.start = u32(0)
        self.end = u32(4)
        self.mcuTarget = bytes[index + 8]
        self.flags = ModuleFlags(rawValue: bytes[index + 9])
        self.version = u16(10)
        self.platformID = u16(12)
        self.function = ModuleFunction(rawValue: bytes[index + 14])
        self.index = bytes[index + 15]
        self.dependencies = [16, 20].map {
            ModuleDependency(
                function: ModuleFunction(rawValue: bytes[index + $0]),
                index: bytes[index + $0 + 1],
                version: u16($0 + 2)
            )
        }
    }

    /// `end − start + 4`, or 0 if `end ≤ start`.
    var declaredLength: Int { self.end > self.start ? Int(self.end - self.start) + 4 : 0 }

    /// Start before end, a known non-empty function and only known flags: bytes meant as a
    /// prefix even if something else is wrong.
    var looksLikePrefix: Bool {
        self.end > self.start && self.function != .none && self.function.isKnown
            && self.flags.isSubset(of: .known)
    }

    /// The checks binary-version-reader's `_validateModulePrefix` makes for a full score (except
    /// a known platform ID, which ``FirmwareValidator`` compares with the device's instead):
    /// start < end, a length that fills the rest of the file (or fits, for a combined module), a
    /// known function and dependency functions, empty dependency slots zeroed, known flags, and a
    /// prefix that lies inside the module in front of its smallest suffix.
    func isAcceptable(remaining: Int, at offset: Int) -> Bool {
        let length = self.declaredLength
        guard self.looksLikePrefix, length >= FirmwareModule.minimumLength, length <= remaining else { return false }
        guard length == remaining || self.flags.contains(.combined) else { return false }
        guard offset + FirmwareModule.prefixSize <= length - ModuleSuffix.minimumSize - 4 else { return false }
        return self.dependencies.allSatisfy { dependency in
            dependency.function.isKnown
                && (!dependency.isEmpty || (dependency.index == 0 && dependency.version == 0))
        }
    }
}
