/// Particle platform IDs and their names, for messages ("12 (Argon)").
///
/// IDs from Device OS `hal/shared/platforms.h` and Particle's device constants; a platform
/// missing here is still accepted wherever an ID is compared, only named "unknown".
public enum Platform {
    /// The known platforms by ID.
    public static let names: [UInt16: String] = [
        0: "Core",
        3: "virtual device",
        6: "Photon",
        8: "P1",
        10: "Electron",
        12: "Argon",
        13: "Boron",
        14: "Xenon",
        22: "A SoM",
        23: "B SoM",
        24: "X SoM",
        25: "B5 SoM",
        26: "Tracker",
        28: "Tracker M",
        32: "P2",
        35: "M SoM",
    ]

    /// The platform's name, or `nil` if unknown.
    public static func name(_ id: UInt16) -> String? {
        self.names[id]
    }

    /// `12 (Argon)`, or `99 (unknown)`.
    public static func label(_ id: UInt16) -> String {
        "\(id) (\(self.names[id] ?? "unknown"))"
    }

    /// The platform ID of the virtual device (Device OS `gcc` platform), the only one that runs
    /// monolithic firmware modules.
    public static let virtualDevice: UInt16 = 3
}
