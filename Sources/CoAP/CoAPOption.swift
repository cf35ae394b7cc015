/// One CoAP option: a number and an opaque value.
///
/// Options keep their order within a message; the encoder writes them sorted by number (stable,
/// so repeated options such as Uri-Path keep their relative order), as RFC 7252 requires.
public struct CoAPOption: Hashable, Sendable {
    /// The option number, for example ``Number/uriPath``.
    public var number: Number
    /// The raw option value.
    public var value: [UInt8]

    /// Creates an option with a raw value.
    public init(_ number: Number, value: [UInt8]) {
        self.number = number
        self.value = value
    }

    /// Creates an option whose value is the UTF-8 bytes of `string`.
    public init(_ number: Number, string: String) {
        self.init(number, value: Array(string.utf8))
    }

    /// Creates an option holding an unsigned integer in the minimal big-endian form of RFC 7252
    /// §3.2 (zero is the empty value).
    public init(_ number: Number, uint: UInt32) {
        var bytes: [UInt8] = []
        var remaining = uint
        while remaining != 0 {
            bytes.insert(UInt8(truncatingIfNeeded: remaining), at: 0)
            remaining >>= 8
        }
        self.init(number, value: bytes)
    }

    /// The value as UTF-8 text, or `nil` if it is not valid UTF-8.
    public var stringValue: String? {
        String(validating: self.value, as: UTF8.self)
    }

    /// The value read as a big-endian unsigned integer, or `nil` if it is longer than 4 bytes.
    public var uintValue: UInt32? {
        guard self.value.count <= 4 else { return nil }
        return self.value.reduce(0) { $0 << 8 | UInt32($1) }
    }

    /// A CoAP option number.
    public struct Number: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
        /// The option number.
        public var rawValue: UInt16

        /// Creates an option number.
        public init(rawValue: UInt16) {
            self.rawValue = rawValue
        }

        /// The number in decimal.
        public var description: String { "\(self.rawValue)" }

        /// Orders by number.
        public static func < (lhs: Number, rhs: Number) -> Bool {
            lhs.rawValue < rhs.rawValue
        }

        /// 1 If-Match.
        public static let ifMatch = Number(rawValue: 1)
        /// 3 Uri-Host.
        public static let uriHost = Number(rawValue: 3)
        /// 4 ETag.
        public static let eTag = Number(rawValue: 4)
        /// 6 Observe.
        public static let observe = Number(rawValue: 6)
        /// 7 Uri-Port.
        public static let uriPort = Number(rawValue: 7)
        /// 8 Location-Path.
        public static let locationPath = Number(rawValue: 8)
        /// 11 Uri-Path: one path segment per option (the Particle protocol puts a one-letter
        /// segment first).
        public static let uriPath = Number(rawValue: 11)
        /// 12 Content-Format.
        public static let contentFormat = Number(rawValue: 12)
        /// 14 Max-Age (seconds; Particle uses it for the event TTL).
        public static let maxAge = Number(rawValue: 14)
        /// 15 Uri-Query (Particle: function argument, Describe flags, subscription scope).
        public static let uriQuery = Number(rawValue: 15)
        /// 17 Accept.
        public static let accept = Number(rawValue: 17)
        /// 23 Block2.
        public static let block2 = Number(rawValue: 23)
        /// 27 Block1.
        public static let block1 = Number(rawValue: 27)
        /// 28 Size2.
        public static let size2 = Number(rawValue: 28)
        /// 60 Size1.
        public static let size1 = Number(rawValue: 60)
        /// 258 No-Response (RFC 7967).
        public static let noResponse = Number(rawValue: 258)
    }
}
