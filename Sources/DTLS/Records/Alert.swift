/// A TLS alert (RFC 5246 §7.2): a level and a description code.
public struct Alert: Hashable, Sendable {
    /// 1 = warning, 2 = fatal.
    public var level: UInt8
    /// The AlertDescription (see the static codes, e.g. ``closeNotifyCode``).
    public var code: UInt8

    /// Creates an alert.
    public init(level: UInt8, code: UInt8) {
        self.level = level
        self.code = code
    }

    /// Whether the level is fatal (2).
    public var isFatal: Bool { self.level == 2 }
    /// Whether this is close_notify (code 0): the peer closes the session.
    public var isCloseNotify: Bool { self.code == Self.closeNotifyCode }

    /// close_notify as a warning, which ends a Particle device's session
    /// (`MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY` → `DTLSMessageChannel` resets it).
    public static let closeNotify = Alert(level: 1, code: closeNotifyCode)

    /// A fatal alert with the given code.
    public static func fatal(_ code: UInt8) -> Alert { Alert(level: 2, code: code) }

    /// close_notify (0).
    public static let closeNotifyCode: UInt8 = 0
    /// unexpected_message (10).
    public static let unexpectedMessageCode: UInt8 = 10
    /// handshake_failure (40).
    public static let handshakeFailureCode: UInt8 = 40
    /// bad_certificate (42).
    public static let badCertificateCode: UInt8 = 42
    /// illegal_parameter (47).
    public static let illegalParameterCode: UInt8 = 47
    /// decode_error (50).
    public static let decodeErrorCode: UInt8 = 50
    /// decrypt_error (51).
    public static let decryptErrorCode: UInt8 = 51
    /// protocol_version (70).
    public static let protocolVersionCode: UInt8 = 70
    /// unsupported_certificate (43).
    public static let unsupportedCertificateCode: UInt8 = 43

    /// The two bytes of the alert message.
    var bytes: [UInt8] { [self.level, self.code] }

    /// Parses the two-byte alert message.
    init(bytes: some Collection<UInt8>) throws(DTLSError) {
        guard bytes.count == 2 else { throw .malformedAlert }
        self.init(level: bytes[bytes.startIndex], code: bytes[bytes.index(after: bytes.startIndex)])
    }
}
