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
}
