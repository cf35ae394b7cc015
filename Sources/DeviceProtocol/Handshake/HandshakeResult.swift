/// What a completed handshake yields.
public struct HandshakeResult: Sendable {
    /// The device that connected.
    public let deviceID: DeviceID
    /// The device's public key (the provisioned one).
    public let deviceKey: DevicePublicKey
    /// The session key material `R`.
    public let sessionKeys: SessionKeys
    /// Bytes received after the 256-byte block; feed them to the channel first.
    public let leftover: [UInt8]

    /// Creates a result.
    public init(deviceID: DeviceID, deviceKey: DevicePublicKey, sessionKeys: SessionKeys, leftover: [UInt8]) {
        self.deviceID = deviceID
        self.deviceKey = deviceKey
        self.sessionKeys = sessionKeys
        self.leftover = leftover
    }

    /// A fresh encrypted channel for the session.
    public func makeChannel(maximumFrameLength: Int = 0xFFFF) -> SecureChannel {
        SecureChannel(keys: self.sessionKeys, maximumFrameLength: maximumFrameLength)
    }

    /// The message-ID counter the device uses; its first value is the Hello's ID.
    public var deviceMessageIDs: MessageIDCounter { self.sessionKeys.deviceMessageIDs }
}
