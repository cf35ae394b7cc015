/// The one error type of the webhooks module.
///
/// `message` is safe to show to the caller: it never holds a password, a secret or a token.
public struct WebhookError: Error, Sendable, Equatable, CustomStringConvertible {
    private enum Code: Sendable, Equatable {
        case invalid
        case notFound
        case refused
        case unavailable
    }

    private let code: Code
    /// A human-readable explanation.
    public let message: String

    private init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// A webhook definition or request field is not acceptable (answered 400).
    public static func invalid(_ message: String) -> WebhookError { .init(.invalid, message) }
    /// The webhook does not exist or is not the caller's (answered 404).
    public static func notFound(_ message: String) -> WebhookError { .init(.notFound, message) }
    /// A target address is not allowed (a private address without `allowPrivateTargets`).
    public static func refused(_ message: String) -> WebhookError { .init(.refused, message) }
    /// The service cannot take the request now (shutting down).
    public static func unavailable(_ message: String) -> WebhookError { .init(.unavailable, message) }

    /// Whether the input was refused as invalid (including refused target addresses).
    public var isInvalid: Bool { code == .invalid || code == .refused }
    /// Whether the target address was refused.
    public var isRefused: Bool { code == .refused }
    /// Whether the webhook was not found.
    public var isNotFound: Bool { code == .notFound }
    /// Whether the service is unavailable.
    public var isUnavailable: Bool { code == .unavailable }

    public var description: String { "\(code): \(message)" }
}
