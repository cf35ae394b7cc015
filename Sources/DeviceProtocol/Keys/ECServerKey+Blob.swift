extension ECServerKey {
    /// The size of the server key blob UDP devices store: the 192-byte key area and a 128-byte
    /// address area.
    public static let deviceBlobSize = 320

    /// The server key blob a UDP device (Gen3, Gen4) stores: the 91-byte SPKI DER, `0xFF` up to
    /// offset 192, then the address block (type `0` IPv4 / `1` domain, length, address) with the
    /// port big-endian at offset 258, and `0xFF` to the end. The layout of `particle keys
    /// server` for UDP platforms.
    ///
    /// - Parameter port: the port to write; `nil` writes `0xFFFF`. Device OS dials UDP 5684
    ///   whatever the blob says.
    /// - Throws: ``DeviceProtocolError/invalidAddress`` for an empty, non-ASCII or over-long host
    ///   name.
    public func deviceBlob(address: ServerAddress, port: UInt16? = nil) throws(DeviceProtocolError) -> [UInt8] {
        try address.deviceBlob(keyDER: publicKeyDER, keyArea: 192, size: Self.deviceBlobSize, port: port)
    }
}
