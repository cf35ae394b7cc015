/// A cursor over received bytes that throws one chosen error when the input runs out.
///
/// Every parser in the module reads through one of these, so a length field that points past the
/// end of its datagram ends in a ``DTLSError`` naming the structure, never in a trap.
struct ByteReader {
    private(set) var remaining: ArraySlice<UInt8>
    private let error: DTLSError

    init(_ bytes: ArraySlice<UInt8>, error: DTLSError) {
        self.remaining = bytes
        self.error = error
    }

    var isAtEnd: Bool { self.remaining.isEmpty }

    mutating func readUInt8() throws(DTLSError) -> UInt8 {
        guard let byte = self.remaining.first else { throw self.error }
        self.remaining = self.remaining.dropFirst()
        return byte
    }

    mutating func readUInt16() throws(DTLSError) -> UInt16 {
        UInt16(try self.readInteger(bytes: 2))
    }

    mutating func readUInt24() throws(DTLSError) -> Int {
        Int(try self.readInteger(bytes: 3))
    }

    mutating func readUInt48() throws(DTLSError) -> UInt64 {
        try self.readInteger(bytes: 6)
    }

    mutating func readUInt64() throws(DTLSError) -> UInt64 {
        try self.readInteger(bytes: 8)
    }

    mutating func readBytes(_ count: Int) throws(DTLSError) -> ArraySlice<UInt8> {
        guard count >= 0, self.remaining.count >= count else { throw self.error }
        let start = self.remaining.startIndex
        let bytes = self.remaining[start..<start + count]
        self.remaining = self.remaining[(start + count)...]
        return bytes
    }

    /// A vector with a 1-byte length prefix.
    mutating func readVector8() throws(DTLSError) -> ArraySlice<UInt8> {
        try self.readBytes(Int(try self.readUInt8()))
    }

    /// A vector with a 2-byte length prefix.
    mutating func readVector16() throws(DTLSError) -> ArraySlice<UInt8> {
        try self.readBytes(Int(try self.readUInt16()))
    }

    /// A vector with a 3-byte length prefix.
    mutating func readVector24() throws(DTLSError) -> ArraySlice<UInt8> {
        try self.readBytes(try self.readUInt24())
    }

    /// Throws unless every byte was read (trailing bytes are a malformed structure in TLS).
    func expectEnd() throws(DTLSError) {
        guard self.remaining.isEmpty else { throw self.error }
    }

    private mutating func readInteger(bytes count: Int) throws(DTLSError) -> UInt64 {
        guard self.remaining.count >= count else { throw self.error }
        var value: UInt64 = 0
        let start = self.remaining.startIndex
        for index in start..<start + count {
            value = value << 8 | UInt64(self.remaining[index])
        }
        self.remaining = self.remaining[(start + count)...]
        return value
    }
}
