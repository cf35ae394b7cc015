/// A CoAP code byte: `class << 5 | detail`, written `c.dd` (for example 2.05 Content).
public struct CoAPCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The code byte as it appears on the wire.
    public var rawValue: UInt8

    /// Creates a code from its wire byte.
    public init(rawValue: UInt8) {
        self.rawValue = rawValue
    }

    /// Creates a code from its class (0–7) and detail (0–31).
    public init(class codeClass: UInt8, detail: UInt8) {
        precondition(codeClass < 8 && detail < 32, "CoAP code class must be 0-7 and detail 0-31")
        self.rawValue = codeClass << 5 | detail
    }

    /// The class: 0 request, 2 success, 4 client error, 5 server error.
    public var codeClass: UInt8 { self.rawValue >> 5 }

    /// The detail, 0–31.
    public var detail: UInt8 { self.rawValue & 0x1F }

    /// Whether this is a request method (class 0, detail ≠ 0).
    public var isRequest: Bool { self.codeClass == 0 && self.detail != 0 }

    /// Whether this is a response (class 2–5).
    public var isResponse: Bool { self.codeClass >= 2 && self.codeClass <= 5 }

    /// `c.dd`, for example `2.05`.
    public var description: String {
        let detail = self.detail < 10 ? "0\(self.detail)" : "\(self.detail)"
        return "\(self.codeClass).\(detail)"
    }

    /// 0.00 Empty (ping, empty ACK, RST).
    public static let empty = CoAPCode(rawValue: 0x00)
    /// 0.01 GET.
    public static let get = CoAPCode(rawValue: 0x01)
    /// 0.02 POST.
    public static let post = CoAPCode(rawValue: 0x02)
    /// 0.03 PUT.
    public static let put = CoAPCode(rawValue: 0x03)
    /// 0.04 DELETE.
    public static let delete = CoAPCode(rawValue: 0x04)
    /// 2.01 Created.
    public static let created = CoAPCode(rawValue: 0x41)
    /// 2.02 Deleted.
    public static let deleted = CoAPCode(rawValue: 0x42)
    /// 2.03 Valid.
    public static let valid = CoAPCode(rawValue: 0x43)
    /// 2.04 Changed.
    public static let changed = CoAPCode(rawValue: 0x44)
    /// 2.05 Content.
    public static let content = CoAPCode(rawValue: 0x45)
    /// 4.00 Bad Request.
    public static let badRequest = CoAPCode(rawValue: 0x80)
    /// 4.01 Unauthorized.
    public static let unauthorized = CoAPCode(rawValue: 0x81)
    /// 4.03 Forbidden.
    public static let forbidden = CoAPCode(rawValue: 0x83)
    /// 4.04 Not Found.
    public static let notFound = CoAPCode(rawValue: 0x84)
    /// 4.05 Method Not Allowed.
    public static let methodNotAllowed = CoAPCode(rawValue: 0x85)
    /// 4.13 Request Entity Too Large.
    public static let requestEntityTooLarge = CoAPCode(rawValue: 0x8D)
    /// 5.00 Internal Server Error.
    public static let internalServerError = CoAPCode(rawValue: 0xA0)
    /// 5.03 Service Unavailable.
    public static let serviceUnavailable = CoAPCode(rawValue: 0xA3)
}
