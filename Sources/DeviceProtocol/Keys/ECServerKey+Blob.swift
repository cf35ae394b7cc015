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
        var blob = self.publicKeyDER
        blob.append(contentsOf: repeatElement(0xFF, count: Self.deviceBlobSize - blob.count))
        let addressOffset = 192
        switch address {
        case .ipv4(let a, let b, let c, let d):
            blob.replaceSubrange(addressOffset..<addressOffset + 6, with: [0x00, 4, a, b, c, d])
        case .domain(let name):
            let bytes = Array(name.utf8)
            guard !bytes.isEmpty, bytes.count <= 63, bytes.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
                throw .invalidAddress
            }
            blob.replaceSubrange(
                addressOffset..<addressOffset + 2 + bytes.count,
                with: [0x01, UInt8(bytes.count)] + bytes
            )
        }
        let port = port ?? 0xFFFF
        blob[addressOffset + 66] = UInt8(port >> 8)
        blob[addressOffset + 67] = UInt8(port & 0xFF)
        return blob
    }
}
