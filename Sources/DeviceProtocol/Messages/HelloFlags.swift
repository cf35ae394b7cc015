/// The capability flags of a Hello.
public struct HelloFlags: OptionSet, Hashable, Sendable {
    /// The raw 16-bit value.
    public var rawValue: UInt16

    /// Creates flags from their raw value.
    public init(rawValue: UInt16) {
        self.rawValue = rawValue
    }

    /// `0x01`: the previous OTA update succeeded.
    public static let otaUpgradeSuccessful = HelloFlags(rawValue: 0x01)
    /// `0x02`: diagnostics supported.
    public static let diagnosticsSupport = HelloFlags(rawValue: 0x02)
    /// `0x04`: immediate updates supported.
    public static let immediateUpdates = HelloFlags(rawValue: 0x04)
    /// `0x08`: reserved (HandshakeComplete support).
    public static let handshakeComplete = HelloFlags(rawValue: 0x08)
    /// `0x10`: Goodbye supported.
    public static let goodbyeSupport = HelloFlags(rawValue: 0x10)
    /// `0x20`: the device pushes Describe itself.
    public static let deviceInitiatedDescribe = HelloFlags(rawValue: 0x20)
    /// `0x40`: compressed OTA.
    public static let compressedOTA = HelloFlags(rawValue: 0x40)
    /// `0x80`: OTA protocol v3.
    public static let otaProtocolV3 = HelloFlags(rawValue: 0x80)
}
