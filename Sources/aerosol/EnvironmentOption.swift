import ArgumentParser
import Foundation

/// Resolves a flag that may also come from an environment variable: the flag wins, then the
/// variable, then the default.
enum EnvironmentOption {
    static func resolve<T: LosslessStringConvertible>(_ flag: T?, _ variable: String, default value: T) throws -> T {
        if let flag { return flag }
        guard let text = ProcessInfo.processInfo.environment[variable], !text.isEmpty else { return value }
        guard let parsed = T(text) else {
            throw ValidationError("\(variable)=\(text) is not a valid value")
        }
        return parsed
    }

    /// Resolves as ``resolve(_:_:default:)``, then checks the value: one that fails `valid` is
    /// refused with "--flag must be `requirement`" (the flag named after the variable:
    /// `AEROSOL_DEVICE_PORT` → `--device-port`).
    static func resolve<T: LosslessStringConvertible>(
        _ flag: T?,
        _ variable: String,
        default value: T,
        where valid: (T) -> Bool,
        _ requirement: String
    ) throws -> T {
        let resolved = try resolve(flag, variable, default: value)
        guard valid(resolved) else { throw ValidationError("\(flagName(of: variable)) must be \(requirement)") }
        return resolved
    }

    /// `AEROSOL_DEVICE_PORT` → `--device-port`.
    static func flagName(of variable: String) -> String {
        let name = variable.hasPrefix("AEROSOL_") ? String(variable.dropFirst("AEROSOL_".count)) : variable
        return "--" + name.lowercased().replacingOccurrences(of: "_", with: "-")
    }
}
