/// An error of the `Firmware` module: a firmware file that is not a valid module for the target
/// device, or one that cannot be read.
///
/// ``description`` is a complete, user-facing sentence (for example "Platform mismatch: the file
/// is for platform 12 (Argon), the device is platform 6 (Photon)"), suitable for the `error` of a
/// 400 reply to a firmware upload. It never contains anything but facts about the file and the
/// device.
public struct FirmwareError: Error, Hashable, Sendable, CustomStringConvertible {
    private enum Code: Hashable, Sendable {
        case tooShort(length: Int)
        case noModulePrefix
        case truncated(declared: Int, actual: Int, module: Int)
        case trailingBytes(declared: Int, actual: Int)
        case missingCombinedModule(after: Int)
        case invalidDependency(number: Int, dependency: ModuleDependency)
        case invalidPrefixExtensions
        case invalidCompressionHeader
        case crcMismatch(stored: UInt32, computed: UInt32, module: Int, of: Int)
        case invalidSuffixSize(size: Int, maximum: Int)
        case shaMismatch(stored: [UInt8], computed: [UInt8], module: Int, of: Int)
        case platformMismatch(file: UInt16, device: UInt16)
        case notApplication(ModuleFunction)
        case monolithicNotVirtual(platform: UInt16)
        case notDeviceOS(ModuleFunction)
        case unmetDependency(ModuleDependency, installed: UInt16?)
        case tooLarge(size: Int, maximum: Int)
        case compressedNotAccepted
        case combinedNotAccepted
        case encrypted
        case protectedDevice
        case unreadable(String)
        case relayed(String)
    }

    private let code: Code

    private init(_ code: Code) {
        self.code = code
    }

    /// The file is shorter than the smallest possible module (64 bytes).
    public static func tooShort(length: Int) -> FirmwareError { FirmwareError(.tooShort(length: length)) }

    /// No plausible module prefix was found at any of the offsets the device tools search.
    public static let noModulePrefix = FirmwareError(.noModulePrefix)

    /// The prefix of module `module` (1-based) declares more bytes than the file holds.
    public static func truncated(declared: Int, actual: Int, module: Int = 1) -> FirmwareError {
        FirmwareError(.truncated(declared: declared, actual: actual, module: module))
    }

    /// The file is longer than the module its prefix declares (and it is not a combined module).
    public static func trailingBytes(declared: Int, actual: Int) -> FirmwareError {
        FirmwareError(.trailingBytes(declared: declared, actual: actual))
    }

    /// Module `after` (1-based) is flagged as combined, but the file ends behind it.
    public static func missingCombinedModule(after module: Int) -> FirmwareError {
        FirmwareError(.missingCombinedModule(after: module))
    }

    /// Dependency `number` (1 or 2) has no module function but a non-zero index or version.
    public static func invalidDependency(number: Int, _ dependency: ModuleDependency) -> FirmwareError {
        FirmwareError(.invalidDependency(number: number, dependency: dependency))
    }

    /// The prefix says extensions follow it, but they do not end with an END extension.
    public static let invalidPrefixExtensions = FirmwareError(.invalidPrefixExtensions)

    /// A compressed module's header is not the 8-byte raw-DEFLATE header the device reads.
    public static let invalidCompressionHeader = FirmwareError(.invalidCompressionHeader)

    /// The CRC-32 stored at the end of module `module` of `of` differs from the computed one.
    public static func crcMismatch(stored: UInt32, computed: UInt32, module: Int = 1, of count: Int = 1)
        -> FirmwareError
    {
        FirmwareError(.crcMismatch(stored: stored, computed: computed, module: module, of: count))
    }

    /// The suffix size field is outside 36 … `maximum`.
    public static func invalidSuffixSize(_ size: Int, maximum: Int) -> FirmwareError {
        FirmwareError(.invalidSuffixSize(size: size, maximum: maximum))
    }

    /// The SHA-256 stored in the suffix of module `module` of `of` differs from the computed one.
    public static func shaMismatch(stored: [UInt8], computed: [UInt8], module: Int = 1, of count: Int = 1)
        -> FirmwareError
    {
        FirmwareError(.shaMismatch(stored: stored, computed: computed, module: module, of: count))
    }

    /// The module is built for another platform than the device's.
    public static func platformMismatch(file: UInt16, device: UInt16) -> FirmwareError {
        FirmwareError(.platformMismatch(file: file, device: device))
    }

    /// An application update was asked for, but the module is of another function.
    public static func notApplication(_ function: ModuleFunction) -> FirmwareError {
        FirmwareError(.notApplication(function))
    }

    /// A monolithic firmware module was offered to a device other than the virtual device.
    public static func monolithicNotVirtual(platform: UInt16) -> FirmwareError {
        FirmwareError(.monolithicNotVirtual(platform: platform))
    }

    /// A Device OS update was asked for, but the module is of another function.
    public static func notDeviceOS(_ function: ModuleFunction) -> FirmwareError {
        FirmwareError(.notDeviceOS(function))
    }

    /// The device has no module satisfying `dependency`; `installed` is the version it has of the
    /// same function and index, if any.
    public static func unmetDependency(_ dependency: ModuleDependency, installed: UInt16?) -> FirmwareError {
        FirmwareError(.unmetDependency(dependency, installed: installed))
    }

    /// The file is larger than the device's maximum binary size.
    public static func tooLarge(size: Int, maximum: Int) -> FirmwareError {
        FirmwareError(.tooLarge(size: size, maximum: maximum))
    }

    /// A compressed module for a device that does not accept compressed updates.
    public static let compressedNotAccepted = FirmwareError(.compressedNotAccepted)

    /// A combined module for a device that does not accept combined updates.
    public static let combinedNotAccepted = FirmwareError(.combinedNotAccepted)

    /// An encrypted module; Aerosol does not send those.
    public static let encrypted = FirmwareError(.encrypted)

    /// A module for protected devices (security-mode extension); Aerosol does not send those.
    public static let protectedDevice = FirmwareError(.protectedDevice)

    /// The firmware file could not be read.
    public static func unreadable(_ reason: String) -> FirmwareError { FirmwareError(.unreadable(reason)) }

    /// The error another node of the cloud found in the file, by its ``description`` (the node
    /// that holds the device's connection checks the file against the device).
    public static func relayed(_ description: String) -> FirmwareError { FirmwareError(.relayed(description)) }

    /// A complete, user-facing sentence.
    public var description: String {
        switch self.code {
        case .tooShort(let length):
            "Truncated: the file is \(length) bytes, a firmware module has at least 64 "
                + "(a 24-byte prefix, a 36-byte suffix and a 4-byte CRC-32)"
        case .noModulePrefix:
            "The file is not a Particle firmware module: no module prefix"
        case .truncated(let declared, let actual, let module):
            "Truncated: the prefix of module \(module) declares \(declared) bytes, the file has \(actual)"
        case .trailingBytes(let declared, let actual):
            "Not a single firmware module: its prefix declares \(declared) bytes, the file has \(actual)"
        case .missingCombinedModule(let module):
            "Truncated: module \(module) is flagged as combined, but no module follows it"
        case .invalidDependency(let number, let dependency):
            "Invalid module prefix: dependency \(number) has no module function "
                + "but index \(dependency.index) and version \(dependency.version)"
        case .invalidPrefixExtensions:
            "Invalid module prefix: its extensions do not end with an END extension"
        case .invalidCompressionHeader:
            "Invalid compressed module: the compression header is not an 8-byte raw DEFLATE header"
        case .crcMismatch(let stored, let computed, let module, let count):
            "CRC-32 mismatch: stored \(Self.hex32(stored)), computed \(Self.hex32(computed))"
                + Self.which(module, of: count)
        case .invalidSuffixSize(let size, let maximum):
            "Invalid module suffix: suffix size \(size), expected 36 to \(maximum)"
        case .shaMismatch(let stored, let computed, let module, let count):
            "SHA-256 mismatch: stored \(Self.hex(stored)), computed \(Self.hex(computed))"
                + Self.which(module, of: count)
        case .platformMismatch(let file, let device):
            "Platform mismatch: the file is for platform \(Platform.label(file)), "
                + "the device is platform \(Platform.label(device))"
        case .notApplication(let function):
            "Not an application module: module function \(function)"
        case .monolithicNotVirtual(let platform):
            "Not an application module: module function \(ModuleFunction.monolithicFirmware) "
                + "runs only on the virtual device (platform 3), not on platform \(Platform.label(platform))"
        case .notDeviceOS(let function):
            "Not a Device OS module: module function \(function)"
        case .unmetDependency(let dependency, let installed):
            "Unmet dependency: the module needs \(dependency.function.name) \(dependency.index) "
                + "version \(dependency.version) or later, the device has "
                + (installed.map { "version \($0)" } ?? "none")
                + " (it would run the module in safe mode)"
        case .tooLarge(let size, let maximum):
            "Too large: \(size) bytes > \(maximum) bytes, the device's maximum binary size"
        case .compressedNotAccepted:
            "Compressed module: the device does not accept compressed firmware "
                + "(Device OS 2.0.0 or later with a matching bootloader on Gen 3 or later)"
        case .combinedNotAccepted:
            "Combined module: the device does not accept combined firmware "
                + "(Device OS 2.0.0 or later with a matching bootloader on Gen 3 or later)"
        case .encrypted:
            "Encrypted modules are not supported"
        case .protectedDevice:
            "Modules for protected devices (security mode extension) are not supported"
        case .unreadable(let reason):
            "The firmware file could not be read: \(reason)"
        case .relayed(let description):
            description
        }
    }

    private static func which(_ module: Int, of count: Int) -> String {
        count > 1 ? " (module \(module) of \(count))" : ""
    }

    /// `0x` and eight lower-case hex digits.
    static func hex32(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return "0x" + String(repeating: "0", count: 8 - digits.count) + digits
    }

    /// Lower-case hex of `bytes`.
    static func hex(_ bytes: [UInt8]) -> String {
        bytes.map { $0 < 16 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
    }
}
