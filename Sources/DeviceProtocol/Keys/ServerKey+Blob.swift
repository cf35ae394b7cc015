extension ServerKey {
    /// The size of the server key blob (`server_key.der`) written for TCP devices: the 384-byte
    /// key area and a 128-byte address area.
    public static let deviceBlobSize = 512

    /// The server key blob a TCP device stores: the 294-byte SPKI DER, `0xFF` up to offset
    /// 384, then the address block (type `0` IPv4 / `1` domain, length, address) with the port
    /// big-endian at offset 450, and `0xFF` to the end.
    ///
    /// - Parameter port: the port to write; `nil` writes `0xFFFF` (the device default, 5683).
    /// - Throws: ``DeviceProtocolError/invalidAddress`` for an empty, non-ASCII or over-long host
    ///   name.
    public func deviceBlob(address: ServerAddress, port: UInt16? = nil) throws(DeviceProtocolError) -> [UInt8] {
        try address.deviceBlob(keyDER: publicKeyDER, keyArea: 384, size: Self.deviceBlobSize, port: port)
    }
}
