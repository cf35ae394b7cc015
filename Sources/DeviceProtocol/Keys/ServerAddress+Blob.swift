extension ServerAddress {
    /// The server key blob Device OS stores, for either protocol: `keyDER`, `0xFF` up to
    /// `keyArea`, then this address block (type `0` IPv4 / `1` domain, length, address) with
    /// `port` big-endian 66 bytes into it (`nil` writes `0xFFFF`), and `0xFF` to `size`.
    ///
    /// - Throws: ``DeviceProtocolError/invalidAddress`` for an empty, non-ASCII or over-long host
    ///   name.
    func deviceBlob(keyDER: [UInt8], keyArea: Int, size: Int, port: UInt16?) throws(DeviceProtocolError) -> [UInt8] {
        var blob = keyDER
        blob.append(contentsOf: repeatElement(0xFF, count: size - blob.count))
        switch self {
        case .ipv4(let a, let b, let c, let d):
            blob.replaceSubrange(keyArea..<keyArea + 6, with: [0x00, 4, a, b, c, d])
        case .domain(let name):
            let bytes = Array(name.utf8)
            guard !bytes.isEmpty, bytes.count <= 63, bytes.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
                throw .invalidAddress
            }
            blob.replaceSubrange(keyArea..<keyArea + 2 + bytes.count, with: [0x01, UInt8(bytes.count)] + bytes)
        }
        let port = port ?? 0xFFFF
        blob[keyArea + 66] = UInt8(port >> 8)
        blob[keyArea + 67] = UInt8(port & 0xFF)
        return blob
    }
}
