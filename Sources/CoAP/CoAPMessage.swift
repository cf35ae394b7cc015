/// A CoAP message (RFC 7252) as the Particle device protocol carries it: header, token, options
/// and payload, without the UDP transport.
///
/// The wire form is `01TTKKKK code mid(2, BE) token options [FF payload]`. Encode with
/// ``encoded()`` and decode one complete message with ``init(decoding:)``; splitting a byte
/// stream into messages is the job of the layer below (the device protocol's frames).
public struct CoAPMessage: Hashable, Sendable {
    /// The protocol version this codec reads and writes.
    public static let version: UInt8 = 1

    /// The longest token CoAP allows.
    public static let maximumTokenLength = 8

    /// CON, NON, ACK or RST.
    public var type: CoAPType
    /// The method or response code.
    public var code: CoAPCode
    /// The message ID, used to match ACKs and detect duplicates.
    public var messageID: UInt16
    /// The token, 0–8 bytes, used to match responses to requests.
    public var token: [UInt8]
    /// The options in order. ``encoded()`` writes them sorted by number, keeping the relative
    /// order of options with the same number.
    public var options: [CoAPOption]
    /// The payload; empty means no payload marker is written.
    public var payload: [UInt8]

    /// Creates a message.
    public init(
        type: CoAPType,
        code: CoAPCode,
        messageID: UInt16,
        token: [UInt8] = [],
        options: [CoAPOption] = [],
        payload: [UInt8] = []
    ) {
        self.type = type
        self.code = code
        self.messageID = messageID
        self.token = token
        self.options = options
        self.payload = payload
    }
}
