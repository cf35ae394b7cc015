/// Reassembles fragmented handshake messages of the client's flight, within fixed bounds.
///
/// Particle devices never fragment (their whole flight is about 400 bytes and mbedTLS packs it
/// into one datagram), but RFC 6347 §4.2.3 allows it, so fragments are accepted for at most
/// ``maximumPendingMessages`` messages of at most ``maximumMessageLength`` bytes each: a peer
/// can make a handshake hold at most about 10 KiB however it fragments, overlaps or lies.
struct HandshakeReassembler: Sendable {
    /// The largest handshake message accepted. The client's largest (Certificate with a raw
    /// P-256 key) is 94 bytes; this leaves room for other clients' extensions without letting a
    /// fragment header reserve large buffers.
    static let maximumMessageLength = 2048
    /// How many distinct messages may be pending at once.
    static let maximumPendingMessages = 5

    private struct Partial: Sendable {
        var type: UInt8
        var body: [UInt8]
        var covered: [UInt64]
        var coveredCount: Int
    }

    private var partials: [UInt16: Partial] = [:]

    /// Bytes held for incomplete or not yet processed messages.
    var bufferedByteCount: Int {
        self.partials.values.reduce(0) { $0 + $1.body.count + $1.covered.count * 8 }
    }

    /// Adds a fragment. Fragments that disagree with earlier ones about the message's type or
    /// length are refused; overlapping bytes are taken from the first fragment that had them.
    mutating func insert(_ fragment: HandshakeFragment) throws(DTLSError) {
        guard fragment.length <= Self.maximumMessageLength else { throw .handshakeMessageTooLong }
        var partial: Partial
        if let existing = self.partials[fragment.messageSequence] {
            guard existing.type == fragment.type, existing.body.count == fragment.length else {
                throw .malformedHandshake
            }
            partial = existing
        } else {
            guard self.partials.count < Self.maximumPendingMessages else { throw .unexpectedMessage }
            partial = Partial(
                type: fragment.type,
                body: [UInt8](repeating: 0, count: fragment.length),
                covered: [UInt64](repeating: 0, count: (fragment.length + 63) / 64),
                coveredCount: 0
            )
        }
        for (offset, byte) in zip(fragment.fragmentOffset..., fragment.bytes) {
            let word = offset / 64
            let bit = UInt64(1) << UInt64(offset % 64)
            if partial.covered[word] & bit == 0 {
                partial.covered[word] |= bit
                partial.body[offset] = byte
                partial.coveredCount += 1
            }
        }
        self.partials[fragment.messageSequence] = partial
    }

    /// Removes and returns the message with this sequence number if it is complete.
    mutating func takeMessage(sequence: UInt16) -> HandshakeMessage? {
        guard let partial = self.partials[sequence], partial.coveredCount == partial.body.count else { return nil }
        self.partials[sequence] = nil
        return HandshakeMessage(type: partial.type, messageSequence: sequence, body: partial.body)
    }
}
