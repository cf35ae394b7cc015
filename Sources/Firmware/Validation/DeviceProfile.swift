/// What the server knows about a device that decides whether a firmware file fits it and how to
/// send it: from its Hello and its last system Describe.
///
/// `Firmware` does not depend on the device-protocol module; the gateway fills this in from the
/// Hello and Describe it parsed.
public struct DeviceProfile: Hashable, Sendable {
    /// The platform modules must be built for. Take it from the system Describe (`p`) when known:
    /// the virtual device checks modules against its configured platform while its TCP Hello
    /// always says 3.
    public var platformID: UInt16
    /// The Hello flags (raw), which choose the OTA protocol (`0x80`) and whether compressed and
    /// combined modules are accepted (`0x40`).
    public var helloFlags: UInt16
    /// The system module version from Hello (`5800` = 5.8.0), if sent.
    public var systemVersion: UInt16?
    /// The largest CoAP message the device accepts (Hello), if sent. Chunks are sized to fit.
    public var maximumMessageSize: Int?
    /// The largest binary the device accepts (Hello), if sent.
    public var maximumBinarySize: Int?
    /// The device's OTA chunk size (Hello), if sent.
    public var otaChunkSize: Int?
    /// The modules of the device's last system Describe, or `nil` if it has not described itself
    /// (dependencies are then not checked).
    public var installedModules: [InstalledModule]?

    /// Creates a profile.
    public init(
        platformID: UInt16,
        helloFlags: UInt16 = 0,
        systemVersion: UInt16? = nil,
        maximumMessageSize: Int? = nil,
        maximumBinarySize: Int? = nil,
        otaChunkSize: Int? = nil,
        installedModules: [InstalledModule]? = nil
    ) {
        self.platformID = platformID
        self.helloFlags = helloFlags
        self.systemVersion = systemVersion
        self.maximumMessageSize = maximumMessageSize
        self.maximumBinarySize = maximumBinarySize
        self.otaChunkSize = otaChunkSize
        self.installedModules = installedModules
    }

    /// Hello flag `0x80`: the device speaks OTA protocol v3 only (Gen 3 and Gen 4 on Device OS
    /// 3.0.0 or later, `HAL_PLATFORM_OTA_PROTOCOL_V3`); it ignores the legacy requests.
    public var usesProtocolV3: Bool { self.helloFlags & 0x80 != 0 }

    /// Hello flag `0x40`: the device accepts compressed and combined modules.
    public var acceptsCompressedModules: Bool { self.helloFlags & 0x40 != 0 }

    /// Hello flag `0x01`: the previous OTA update was applied (set until the device receives a
    /// server Hello).
    public var reportsUpdateApplied: Bool { self.helloFlags & 0x01 != 0 }
}
