/// An error from encoding or decoding a CoAP message.
///
/// Decoding is strict: a message that does not follow RFC 7252 exactly is rejected rather than
/// guessed at, because a misread option length on the device side has real consequences
/// (lengths 13 and 14 are never bare nibbles).
public struct CoAPError: Error, Hashable, Sendable, CustomStringConvertible {
    private enum Code: Hashable, Sendable {
        case truncated
        case unsupportedVersion
        case invalidTokenLength
        case reservedOptionNibble
        case emptyPayloadAfterMarker
        case optionNumberOutOfRange
        case optionValueTooLong
        case invalidEmptyMessage
    }

    private let code: Code

    private init(_ code: Code) {
        self.code = code
    }

    /// The bytes end before the message does (header, token, an extended option field or an option value).
    public static let truncated = CoAPError(.truncated)
    /// The version field is not 1.
    public static let unsupportedVersion = CoAPError(.unsupportedVersion)
    /// The token length is 9–15 when decoding, or a token longer than 8 bytes was given when encoding.
    public static let invalidTokenLength = CoAPError(.invalidTokenLength)
    /// An option delta or length nibble is 15, which RFC 7252 reserves.
    public static let reservedOptionNibble = CoAPError(.reservedOptionNibble)
    /// A payload marker `0xFF` is followed by no payload.
    public static let emptyPayloadAfterMarker = CoAPError(.emptyPayloadAfterMarker)
    /// An option number exceeds 65535 after adding its delta.
    public static let optionNumberOutOfRange = CoAPError(.optionNumberOutOfRange)
    /// An option value is longer than the 65804 bytes the length field can express.
    public static let optionValueTooLong = CoAPError(.optionValueTooLong)
    /// A message with code 0.00 (Empty) carries a token, options or a payload.
    public static let invalidEmptyMessage = CoAPError(.invalidEmptyMessage)

    /// A short description of the error.
    public var description: String {
        switch self.code {
        case .truncated: "CoAP message truncated"
        case .unsupportedVersion: "unsupported CoAP version"
        case .invalidTokenLength: "invalid CoAP token length"
        case .reservedOptionNibble: "reserved CoAP option nibble 15"
        case .emptyPayloadAfterMarker: "CoAP payload marker without payload"
        case .optionNumberOutOfRange: "CoAP option number out of range"
        case .optionValueTooLong: "CoAP option value too long"
        case .invalidEmptyMessage: "CoAP empty message with token, options or payload"
        }
    }
}
