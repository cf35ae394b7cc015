/// The one error type of the store module.
public struct StoreError: Error, Sendable, Equatable, CustomStringConvertible {
    private enum Code: Sendable, Equatable {
        case notFound
        case conflict
        case invalid
        case unavailable
        case corrupt
    }

    private let code: Code
    /// A human-readable explanation, safe to show to the caller (never holds secrets).
    public let message: String

    private init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// The thing asked for does not exist.
    public static func notFound(_ message: String) -> StoreError { .init(.notFound, message) }
    /// The change would violate a uniqueness rule (a taken email, slug or device name).
    public static func conflict(_ message: String) -> StoreError { .init(.conflict, message) }
    /// The input is not acceptable.
    public static func invalid(_ message: String) -> StoreError { .init(.invalid, message) }
    /// The store cannot take the request now (shutting down, overloaded).
    public static func unavailable(_ message: String) -> StoreError { .init(.unavailable, message) }
    /// Stored data could not be read back (a damaged secret file or row).
    public static func corrupt(_ message: String) -> StoreError { .init(.corrupt, message) }

    /// Whether this is a `notFound` error.
    public var isNotFound: Bool { code == .notFound }
    /// Whether this is a `conflict` error.
    public var isConflict: Bool { code == .conflict }
    /// Whether this is an `invalid` error.
    public var isInvalid: Bool { code == .invalid }
    /// Whether this is an `unavailable` error.
    public var isUnavailable: Bool { code == .unavailable }

    public var description: String { "\(code): \(message)" }
}
