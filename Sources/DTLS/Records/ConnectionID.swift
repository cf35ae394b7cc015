/// An 8-byte DTLS connection ID, issued by the server in its ServerHello and put by the device on
/// every record it sends (draft-ietf-tls-dtls-connection-id-05, extension 254).
///
/// Device OS ≥ 3.1 requires exactly 8 bytes (`DTLS_CID_SIZE`,
/// `communication/inc/dtls_session_persist.h`): with any other length it drops the connection
/// right after the handshake. It is the key of a session on the server.
public struct ConnectionID: Hashable, Sendable, CustomStringConvertible {
    /// The only length this server issues and parses.
    public static let length = 8

    /// The 8 bytes as a big-endian integer (cheap to hash and compare).
    public let value: UInt64

    /// Creates a connection ID from its big-endian integer value.
    public init(value: UInt64) {
        self.value = value
    }

    /// Creates a connection ID from exactly 8 bytes; `nil` for any other count.
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == Self.length else { return nil }
        self.value = bytes.reduce(0) { $0 << 8 | UInt64($1) }
    }

    /// Reads the connection ID of a CID record (first byte 25 or 253) at bytes 11..<19 of a
    /// datagram; `nil` if the datagram is not such a record or is too short.
    public init?(datagram: some Collection<UInt8>) {
        guard let first = datagram.first, first == 25 || first == 253, datagram.count >= 19 else { return nil }
        self.init(bytes: datagram.dropFirst(11).prefix(8))
    }

    /// The 8 bytes.
    public var bytes: [UInt8] {
        var bytes: [UInt8] = []
        bytes.appendBigEndian(self.value, bytes: 8)
        return bytes
    }

    /// Lower-case hex (a connection ID is public: it travels in clear in every record).
    public var description: String { hexString(self.bytes) }
}
