/// Errors of the device gateway and the device simulator.
public struct GatewayError: Error, Hashable, Sendable, CustomStringConvertible {
    private enum Code: Hashable, Sendable {
        case connectionClosed
        case timedOut
        case invalidKeyFile
        case invalidServerKeyFile
        case handshakeFailed
        case refused
    }

    private let code: Code
    /// What went wrong, without key material.
    public let message: String

    private init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// The peer closed the connection.
    public static func connectionClosed(_ message: String = "the connection was closed") -> GatewayError {
        GatewayError(.connectionClosed, message)
    }

    /// Something did not happen in time.
    public static func timedOut(_ message: String) -> GatewayError { GatewayError(.timedOut, message) }

    /// A device key file is neither a PEM nor a DER RSA key.
    public static func invalidKeyFile(_ message: String) -> GatewayError { GatewayError(.invalidKeyFile, message) }

    /// A server key file (PEM private key or device blob) cannot be read.
    public static func invalidServerKeyFile(_ message: String) -> GatewayError {
        GatewayError(.invalidServerKeyFile, message)
    }

    /// The handshake failed (on the simulator's side).
    public static func handshakeFailed(_ message: String) -> GatewayError { GatewayError(.handshakeFailed, message) }

    /// The server refused a request (for example a publish answered with 4.00).
    public static func refused(_ message: String) -> GatewayError { GatewayError(.refused, message) }

    /// The message.
    public var description: String { message }

    /// Errors compare by kind.
    public static func == (lhs: GatewayError, rhs: GatewayError) -> Bool { lhs.code == rhs.code }

    /// Hashes the kind.
    public func hash(into hasher: inout Hasher) { hasher.combine(code) }
}
