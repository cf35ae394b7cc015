/// A module a device reports in its system Describe (`m` entries: `f`, `n`, `v`, `u`, `vc`, `vv`).
public struct InstalledModule: Hashable, Sendable {
    /// Module function (Describe `f`, a letter).
    public var function: ModuleFunction
    /// Module index (Describe `n`, a string on the wire).
    public var index: UInt8
    /// Module version (Describe `v`).
    public var version: UInt16
    /// SHA-256 of the module (Describe `u`, user modules; protobuf `hash` since 5.5.0), if given.
    public var hash: [UInt8]?
    /// Validation checks performed (`vc`).
    public var validationsPerformed: Int?
    /// Validation checks passed (`vv`); a module with `vc ≠ vv` failed one (safe mode).
    public var validationsPassed: Int?

    /// Creates a record.
    public init(
        function: ModuleFunction,
        index: UInt8,
        version: UInt16,
        hash: [UInt8]? = nil,
        validationsPerformed: Int? = nil,
        validationsPassed: Int? = nil
    ) {
        self.function = function
        self.index = index
        self.version = version
        self.hash = hash
        self.validationsPerformed = validationsPerformed
        self.validationsPassed = validationsPassed
    }

    /// Creates a record from Describe JSON values, or `nil` if the function letter is unknown, the
    /// index or version does not fit, or the hash is not hex.
    public init?(
        describeFunction: String,
        index: String,
        version: Int,
        hash: String? = nil,
        validationsPerformed: Int? = nil,
        validationsPassed: Int? = nil
    ) {
        guard let function = ModuleFunction(describeLetter: describeFunction), let index = UInt8(index),
            let version = UInt16(exactly: version)
        else { return nil }
        var bytes: [UInt8]?
        if let hash {
            guard let parsed = Self.bytes(hex: hash) else { return nil }
            bytes = parsed
        }
        self.init(
            function: function,
            index: index,
            version: version,
            hash: bytes,
            validationsPerformed: validationsPerformed,
            validationsPassed: validationsPassed
        )
    }

    /// Whether the device's checks of this module all passed (`vc == vv`, or not reported).
    public var isValid: Bool { self.validationsPerformed == self.validationsPassed }

    /// Upper- or lower-case hex (Describe sends either) as bytes.
    static func bytes(hex: String) -> [UInt8]? {
        let digits = Array(hex.utf8)
        guard digits.count.isMultiple(of: 2) else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digits.count / 2)
        for pair in stride(from: 0, to: digits.count, by: 2) {
            guard let high = Self.nibble(digits[pair]), let low = Self.nibble(digits[pair + 1]) else { return nil }
            bytes.append(high << 4 | low)
        }
        return bytes
    }

    private static func nibble(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
