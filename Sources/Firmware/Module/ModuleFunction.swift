/// What a firmware module is for: the `module_function` byte of the module prefix
/// (Device OS `dynalib/inc/module_info.h`, `module_function_t`).
public struct ModuleFunction: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The byte as stored in the prefix.
    public var rawValue: UInt8

    /// Creates a function from its prefix byte.
    public init(rawValue: UInt8) {
        self.rawValue = rawValue
    }

    /// 0: no function (an empty dependency slot).
    public static let none = ModuleFunction(rawValue: 0)
    /// 1: resource.
    public static let resource = ModuleFunction(rawValue: 1)
    /// 2: bootloader.
    public static let bootloader = ModuleFunction(rawValue: 2)
    /// 3: monolithic firmware (the virtual device's only firmware).
    public static let monolithicFirmware = ModuleFunction(rawValue: 3)
    /// 4: a Device OS system part.
    public static let systemPart = ModuleFunction(rawValue: 4)
    /// 5: the user application.
    public static let userPart = ModuleFunction(rawValue: 5)
    /// 6: settings.
    public static let settings = ModuleFunction(rawValue: 6)
    /// 7: network co-processor firmware.
    public static let ncpFirmware = ModuleFunction(rawValue: 7)
    /// 8: the radio stack (Nordic SoftDevice).
    public static let radioStack = ModuleFunction(rawValue: 8)
    /// 9: an application asset.
    public static let asset = ModuleFunction(rawValue: 9)

    /// Whether the value is one of the functions Device OS defines (0–9).
    public var isKnown: Bool { self.rawValue <= 9 }

    /// Whether a module of this function is part of a Device OS update (bootloader, system part,
    /// NCP firmware, radio stack).
    public var isDeviceOS: Bool {
        self == .bootloader || self == .systemPart || self == .ncpFirmware || self == .radioStack
    }

    /// The name used in messages, for example "system part".
    public var name: String {
        switch self.rawValue {
        case 0: "no function"
        case 1: "resource"
        case 2: "bootloader"
        case 3: "monolithic firmware"
        case 4: "system part"
        case 5: "user part"
        case 6: "settings"
        case 7: "NCP firmware"
        case 8: "radio stack"
        case 9: "asset"
        default: "unknown function"
        }
    }

    /// The letter a system Describe uses for modules of this function (`f` key): `s`, `u`, `b`,
    /// … (Device OS `system/inc/system_info.h`), or `nil` for assets and unknown values, which
    /// Describe does not list.
    public var describeLetter: String? {
        let letters = ["n", "r", "b", "m", "s", "u", "_", "c", "a"]
        return Int(self.rawValue) < letters.count ? letters[Int(self.rawValue)] : nil
    }

    /// The function a Describe letter stands for, or `nil` for an unknown letter.
    public init?(describeLetter: String) {
        let letters = ["n", "r", "b", "m", "s", "u", "_", "c", "a"]
        guard let index = letters.firstIndex(of: describeLetter) else { return nil }
        self.init(rawValue: UInt8(index))
    }

    /// `4 (system part)`.
    public var description: String { "\(self.rawValue) (\(self.name))" }
}
