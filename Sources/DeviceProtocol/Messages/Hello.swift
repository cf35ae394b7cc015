import CoAP

/// The Hello payload. Fields after the flags are optional because older firmware stops
/// early (the Core after 6 bytes, Photon-era firmware after 8).
public struct Hello: Hashable, Sendable {
    /// Product ID; a non-product device sends its platform ID.
    public var productID: UInt16
    /// Product firmware version; `0xFFFF` means none.
    public var productFirmwareVersion: UInt16
    /// Capability flags.
    public var flags: HelloFlags
    /// Platform ID (compile-time).
    public var platformID: UInt16?
    /// Device ID (sent over DTLS only; empty over TCP).
    public var deviceID: [UInt8]
    /// System module version (`5002` = 5.0.0).
    public var systemVersion: UInt16?
    /// Largest CoAP message the device accepts.
    public var maximumMessageSize: UInt16?
    /// Largest firmware binary the device accepts.
    public var maximumBinarySize: UInt32?
    /// OTA chunk size.
    public var otaChunkSize: UInt16?

    /// Creates a Hello.
    public init(
        productID: UInt16,
        productFirmwareVersion: UInt16 = 0xFFFF,
        flags: HelloFlags = [],
        platformID: UInt16? = nil,
        deviceID: [UInt8] = [],
        systemVersion: UInt16? = nil,
        maximumMessageSize: UInt16? = nil,
        maximumBinarySize: UInt32? = nil,
        otaChunkSize: UInt16? = nil
    ) {
        self.productID = productID
        self.productFirmwareVersion = productFirmwareVersion
        self.flags = flags
        self.platformID = platformID
        self.deviceID = deviceID
        self.systemVersion = systemVersion
        self.maximumMessageSize = maximumMessageSize
        self.maximumBinarySize = maximumBinarySize
        self.otaChunkSize = otaChunkSize
    }

    /// Parses a Hello payload by length.
    ///
    /// - Throws: ``DeviceProtocolError/invalidHello`` if it is shorter than 6 bytes or ends inside
    ///   the device ID.
    public init(payload: some Collection<UInt8>) throws(DeviceProtocolError) {
        let bytes = Array(payload)
        guard bytes.count >= 6 else { throw .invalidHello }
        func u16(_ offset: Int) -> UInt16? {
            offset + 2 <= bytes.count ? UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1]) : nil
        }
        self.init(productID: u16(0)!, productFirmwareVersion: u16(2)!, flags: HelloFlags(rawValue: u16(4)!))
        self.platformID = u16(6)
        guard let idLength = u16(8).map(Int.init) else { return }
        guard bytes.count >= 10 + idLength else { throw .invalidHello }
        self.deviceID = Array(bytes[10..<10 + idLength])
        let n = idLength
        self.systemVersion = u16(10 + n)
        self.maximumMessageSize = u16(12 + n)
        if 18 + n <= bytes.count {
            self.maximumBinarySize = bytes[(14 + n)..<(18 + n)].reduce(0) { $0 << 8 | UInt32($1) }
        }
        self.otaChunkSize = u16(18 + n)
    }

    /// The payload bytes, stopping after the last field that is set.
    public var payload: [UInt8] {
        func u16(_ value: UInt16) -> [UInt8] { [UInt8(value >> 8), UInt8(value & 0xFF)] }
        var bytes = u16(self.productID) + u16(self.productFirmwareVersion) + u16(self.flags.rawValue)
        guard let platformID = self.platformID else { return bytes }
        bytes += u16(platformID)
        let tail: [[UInt8]?] = [
            self.systemVersion.map(u16), self.maximumMessageSize.map(u16),
            self.maximumBinarySize.map { value in (0..<4).map { UInt8(truncatingIfNeeded: value >> (24 - 8 * $0)) } },
            self.otaChunkSize.map(u16),
        ]
        guard tail.contains(where: { $0 != nil }) || !self.deviceID.isEmpty else { return bytes }
        bytes += u16(UInt16(self.deviceID.count)) + self.deviceID
        for field in tail {
            guard let field else { break }
            bytes += field
        }
        return bytes
    }

    /// The device's Hello message: POST `/h` with this payload (NON unless `confirmable`).
    public func message(messageID: UInt16, confirmable: Bool = false) -> CoAPMessage {
        var message = CoAPMessage(
            type: confirmable ? .confirmable : .nonConfirmable,
            code: .post,
            messageID: messageID,
            payload: self.payload
        )
        message.appendPath("h")
        return message
    }

    /// The server's Hello reply: NON POST `/h` without payload (`50 02 mid b1 68`).
    public static func serverMessage(messageID: UInt16) -> CoAPMessage {
        var message = CoAPMessage(type: .nonConfirmable, code: .post, messageID: messageID)
        message.appendPath("h")
        return message
    }
}
