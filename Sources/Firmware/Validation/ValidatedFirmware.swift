/// A firmware file that passed every check for its target device, with what a transfer and the
/// check after it need: the modules, the file's size and SHA-256.
///
/// Create it with ``init(validating:for:purpose:digest:)``, which runs the checks of
/// binary-version-reader and the device in order and throws the first failure as a
/// ``FirmwareError`` with a user-facing message.
public struct ValidatedFirmware: Hashable, Sendable {
    /// The modules, in file order (one, or several for a combined file).
    public var modules: [FirmwareModule]
    /// The file's length.
    public var size: Int
    /// SHA-256 of the whole file: the OTA v3 File-Sha-256 option, which the device compares with
    /// the data it received before applying a resumable update (Device OS
    /// `system/src/firmware_update.cpp finalizeTransferState`). Not the module hash.
    public var fileSHA256: [UInt8]

    /// Creates a record without checking anything (for tests and for files validated earlier).
    public init(modules: [FirmwareModule], size: Int, fileSHA256: [UInt8]) {
        self.modules = modules
        self.size = size
        self.fileSHA256 = fileSHA256
    }

    /// The module that identifies the update: the (last) user part if there is one, else the
    /// last module. Its suffix SHA-256 is what the device reports once it runs it.
    public var primaryModule: FirmwareModule {
        self.modules.last { $0.function == .userPart } ?? self.modules[self.modules.count - 1]
    }

    /// The product firmware version of the primary module, if its suffix has one.
    public var productVersion: UInt16? { self.primaryModule.suffix.productVersion }

    /// Whether any module is compressed.
    public var isCompressed: Bool { self.modules.contains { $0.flags.contains(.compressed) } }

    /// Whether the file holds several modules.
    public var isCombined: Bool { self.modules.count > 1 }
}
