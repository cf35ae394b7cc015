/// Whether a device runs the firmware it was sent, judged from the system Describe it sends when
/// it is back after the restart: the module it reports for the sent module's function and index
/// must carry the sent SHA-256 (user parts; Describe `u`) or version (Device OS parts), and have
/// passed the device's own checks (`vc == vv`; else it runs in safe mode).
public enum UpdateVerification: Hashable, Sendable {
    /// The device runs every module that was sent.
    case applied
    /// The modules are there but the device's checks failed (typically an unmet dependency): it
    /// runs in safe mode.
    case safeMode(String)
    /// The device runs something else.
    case notApplied(String)
    /// The Describe cannot tell: the device reports its user part without a hash (firmware that
    /// predates it).
    case unknown(String)

    /// Compares the modules of `firmware` with the modules the device now describes.
    public init(sent firmware: ValidatedFirmware, described modules: [InstalledModule]) {
        for module in firmware.modules {
            let candidates = modules.filter { $0.function == module.function }
            // A user part is matched by function alone: the virtual device reports any index.
            let match =
                candidates.first { $0.index == module.index }
                ?? (module.function == .userPart ? candidates.first : nil)
            guard let match else {
                self = .notApplied("the device reports no \(module.function.name) \(module.index)")
                return
            }
            if module.function == .userPart, match.hash == nil {
                self = .unknown("the device reports its \(module.function.name) without a hash")
                return
            }
            if let hash = match.hash, module.function == .userPart || module.function == .monolithicFirmware {
                guard hash == module.suffix.sha256 else {
                    self = .notApplied(
                        "the device runs \(module.function.name) \(FirmwareError.hex(hash)), "
                            + "not \(module.hashHex)"
                    )
                    return
                }
            } else if match.version != module.version {
                self = .notApplied(
                    "the device runs \(module.function.name) \(module.index) version \(match.version), "
                        + "not \(module.version)"
                )
                return
            }
            guard match.isValid else {
                let performed = match.validationsPerformed.map(String.init) ?? "?"
                let passed = match.validationsPassed.map(String.init) ?? "?"
                self = .safeMode(
                    "\(module.function.name) \(module.index) failed the device's checks "
                        + "(performed \(performed), passed \(passed))"
                )
                return
            }
        }
        self = .applied
    }
}
