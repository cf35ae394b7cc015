/// A DTLS handshake message header (RFC 6347 §4.2.2) and the fragment it carries.
///
/// `msg_type:1 length:3 message_seq:2 fragment_offset:3 fragment_length:3 body`.
struct HandshakeFragment: Sendable {
    var type: UInt8
    /// The length of the whole message body.
    var length: Int
    var messageSequence: UInt16
    var fragmentOffset: Int
    /// The bytes of this fragment (`fragment_length` of them).
    var bytes: ArraySlice<UInt8>

    /// Whether this fragment is the whole message.
    var isWhole: Bool { self.fragmentOffset == 0 && self.bytes.count == self.length }

    /// Parses every handshake fragment in a record's plaintext (a record may carry several).
    static func parseAll(_ plaintext: ArraySlice<UInt8>) throws(DTLSError) -> [HandshakeFragment] {
        var reader = ByteReader(plaintext, error: .malformedHandshake)
        var fragments: [HandshakeFragment] = []
        while !reader.isAtEnd {
            let type = try reader.readUInt8()
            let length = try reader.readUInt24()
            let sequence = try reader.readUInt16()
            let offset = try reader.readUInt24()
            let fragmentLength = try reader.readUInt24()
            guard offset + fragmentLength <= length else { throw .malformedHandshake }
            let bytes = try reader.readBytes(fragmentLength)
            fragments.append(
                HandshakeFragment(
                    type: type,
                    length: length,
                    messageSequence: sequence,
                    fragmentOffset: offset,
                    bytes: bytes
                )
            )
        }
        return fragments
    }
}
