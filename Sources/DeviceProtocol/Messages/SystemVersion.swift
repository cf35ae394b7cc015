/// The Device OS release a system module version stands for (Hello offset 10, the system
/// Describe's `s`/`m` module): `5002` → `5.0.0`.
///
/// Since 1.0 the numbers follow `major·1000 + minor·100 + patch·10 + build`, where the build
/// counts pre-releases (Device OS `system/system-versions.md`); the few 1.x releases numbered
/// otherwise are listed. Pre-release builds name their base release. Versions before 1.0 have
/// no such rule and give `nil`.
public enum SystemVersion {
    private static let exceptions: [Int: String] = [
        1001: "1.0.1", 1002: "1.0.1", 1320: "1.3.1", 1321: "1.3.1", 1402: "1.4.1", 1403: "1.4.1", 1404: "1.4.2",
        1405: "1.4.3", 1406: "1.4.4", 1512: "1.5.2", 1514: "1.5.4", 1515: "1.5.4",
    ]

    /// The release name of `moduleVersion`, or `nil` before 1.0.0.
    public static func releaseName(moduleVersion: Int) -> String? {
        guard moduleVersion >= 1000 else { return nil }
        if let name = exceptions[moduleVersion] { return name }
        return "\(moduleVersion / 1000).\(moduleVersion % 1000 / 100).\(moduleVersion % 100 / 10)"
    }
}
