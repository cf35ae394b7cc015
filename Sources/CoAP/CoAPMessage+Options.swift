extension CoAPMessage {
    /// The values of every option with `number`, in order.
    public func optionValues(_ number: CoAPOption.Number) -> [[UInt8]] {
        self.options.filter { $0.number == number }.map(\.value)
    }

    /// The value of the first option with `number`, or `nil`.
    public func firstOptionValue(_ number: CoAPOption.Number) -> [UInt8]? {
        self.options.first { $0.number == number }?.value
    }

    /// The Uri-Path segments (option 11) as text; invalid UTF-8 is repaired with U+FFFD.
    public var uriPath: [String] {
        self.optionValues(.uriPath).map { String(decoding: $0, as: UTF8.self) }
    }

    /// The Uri-Path segments joined with `/`, without a leading slash (`e/temp`).
    public var path: String {
        self.uriPath.joined(separator: "/")
    }

    /// The raw Uri-Query values (option 15), in order. Particle puts binary flags here.
    public var uriQuery: [[UInt8]] {
        self.optionValues(.uriQuery)
    }

    /// The Content-Format (option 12), or `nil` if absent or longer than 4 bytes.
    public var contentFormat: UInt32? {
        self.options.first { $0.number == .contentFormat }?.uintValue
    }

    /// The Max-Age in seconds (option 14), or `nil` if absent or longer than 4 bytes.
    public var maxAge: UInt32? {
        self.options.first { $0.number == .maxAge }?.uintValue
    }

    /// Appends one Uri-Path option per segment.
    public mutating func appendPath(_ segments: String...) {
        for segment in segments {
            self.options.append(CoAPOption(.uriPath, string: segment))
        }
    }

    /// Appends a Uri-Query option with a raw value.
    public mutating func appendQuery(_ value: [UInt8]) {
        self.options.append(CoAPOption(.uriQuery, value: value))
    }

    /// An empty ACK (`60 00 mid`) answering `self`: same message ID, no token.
    public var emptyAcknowledgement: CoAPMessage {
        CoAPMessage(type: .acknowledgement, code: .empty, messageID: self.messageID)
    }

    /// A piggybacked ACK answering `self` with `code` and `payload`: same message ID and token.
    public func acknowledgement(code: CoAPCode, payload: [UInt8] = []) -> CoAPMessage {
        CoAPMessage(type: .acknowledgement, code: code, messageID: self.messageID, token: self.token, payload: payload)
    }

    /// An RST rejecting `self`: same message ID, no token.
    public var reset: CoAPMessage {
        CoAPMessage(type: .reset, code: .empty, messageID: self.messageID)
    }
}
