/// A whole handshake message and its encodings.
struct HandshakeMessage: Sendable {
    var type: UInt8
    var messageSequence: UInt16
    var body: [UInt8]

    static let helloRequest: UInt8 = 0
    static let clientHello: UInt8 = 1
    static let serverHello: UInt8 = 2
    static let helloVerifyRequest: UInt8 = 3
    static let certificate: UInt8 = 11
    static let serverKeyExchange: UInt8 = 12
    static let certificateRequest: UInt8 = 13
    static let serverHelloDone: UInt8 = 14
    static let certificateVerify: UInt8 = 15
    static let clientKeyExchange: UInt8 = 16
    static let finished: UInt8 = 20

    /// The message with its 12-byte header as if unfragmented (`fragment_offset` 0,
    /// `fragment_length` = `length`): the form that is sent, and the form hashed into the
    /// Finished transcript (RFC 6347 §4.2.6).
    var encoded: [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(12 + self.body.count)
        bytes.append(self.type)
        bytes.appendUInt24(self.body.count)
        bytes.appendUInt16(self.messageSequence)
        bytes.appendUInt24(0)
        bytes.appendUInt24(self.body.count)
        bytes.append(contentsOf: self.body)
        return bytes
    }
}
