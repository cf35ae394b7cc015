/// The address a device dials, as written into its server key blob.
public enum ServerAddress: Hashable, Sendable {
    /// An IPv4 address, four bytes in network order.
    case ipv4(UInt8, UInt8, UInt8, UInt8)
    /// A DNS host name (ASCII, 1–63 bytes so that it ends before the port field).
    case domain(String)

    /// Parses a dotted-quad IPv4 address, otherwise treats `text` as a host name.
    public init(_ text: String) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false).compactMap { UInt8($0) }
        if parts.count == 4, text.split(separator: ".", omittingEmptySubsequences: false).count == 4 {
            self = .ipv4(parts[0], parts[1], parts[2], parts[3])
        } else {
            self = .domain(text)
        }
    }
}
