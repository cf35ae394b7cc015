import Foundation

/// A Describe payload: the application part (`f` functions, `v` variables), the system
/// part (`p` platform, `m` modules), or both in one document (firmware before 2.0).
public struct Describe: Hashable, Sendable, Decodable {
    /// Function names, in the device's order; `nil` if this document has no application part.
    public var functions: [String]?
    /// Variable names and their raw type codes; `nil` if this document has no application part.
    public var variables: [String: Int]?
    /// Platform ID; `nil` if this document has no system part.
    public var platformID: Int?
    /// Firmware modules; `nil` if this document has no system part.
    public var modules: [Module]?

    private enum CodingKeys: String, CodingKey {
        case functions = "f"
        case variables = "v"
        case platformID = "p"
        case modules = "m"
    }

    /// Parses a Describe JSON payload.
    ///
    /// - Throws: ``DeviceProtocolError/invalidDescribe`` if it is not a JSON object of this shape
    ///   (raw control characters in strings included, which JSON forbids).
    public init(json: some DataProtocol) throws(DeviceProtocolError) {
        // JSON allows no raw control character (only as whitespace between tokens), but
        // Foundation's decoder lets them through inside strings, and so into function and
        // variable names, logs and the device JSON.
        guard !json.contains(where: { $0 < 0x20 && $0 != 0x09 && $0 != 0x0A && $0 != 0x0D }) else {
            throw .invalidDescribe
        }
        do {
            self = try JSONDecoder().decode(Describe.self, from: Data(json))
        } catch {
            throw .invalidDescribe
        }
    }

    /// Whether this document carries functions and variables.
    public var hasApplicationPart: Bool { self.functions != nil || self.variables != nil }

    /// Whether this document carries the platform and modules.
    public var hasSystemPart: Bool { self.modules != nil || self.platformID != nil }

    /// The declared type of a variable, or `nil` if unknown or of an unrecognised type code.
    public func variableType(_ name: String) -> VariableType? {
        self.variables?[name].flatMap(VariableType.init(rawValue:))
    }

    /// Whether some module failed validation (`vc != vv`) — the device is in safe mode.
    public var hasInvalidModules: Bool {
        self.modules?.contains { $0.validationsPerformed != $0.validationsPassed } ?? false
    }

    /// The version of the system module (function `s`, or `m` for monolithic firmware) with the
    /// highest index, if any.
    public var systemVersion: Int? {
        self.modules?.last { $0.function == "s" || $0.function == "m" }?.version
    }

    /// One firmware module of a system Describe.
    public struct Module: Hashable, Sendable, Decodable {
        /// Maximum module size.
        public var maximumSize: Int?
        /// Location: `m` main flash, `f` factory.
        public var location: String?
        /// Validation checks performed.
        public var validationsPerformed: Int?
        /// Validation checks passed.
        public var validationsPassed: Int?
        /// Function: `b` bootloader, `s` system part, `u` user app, `m` monolithic.
        public var function: String?
        /// Module index (a string on the wire).
        public var index: String?
        /// Module version.
        public var version: Int?
        /// SHA-256 of a user module, hex.
        public var hash: String?
        /// Dependencies.
        public var dependencies: [Dependency]?

        private enum CodingKeys: String, CodingKey {
            case maximumSize = "s"
            case location = "l"
            case validationsPerformed = "vc"
            case validationsPassed = "vv"
            case function = "f"
            case index = "n"
            case version = "v"
            case hash = "u"
            case dependencies = "d"
        }
    }

    /// A module dependency `{f, n, v}`.
    public struct Dependency: Hashable, Sendable, Decodable {
        /// Function letter of the required module.
        public var function: String?
        /// Index of the required module.
        public var index: String?
        /// Minimum version required.
        public var version: Int?

        private enum CodingKeys: String, CodingKey {
            case function = "f"
            case index = "n"
            case version = "v"
        }
    }
}
