/// Errors of the device gateway and the device simulator.
public struct GatewayError: Error, Hashable, Sendable, CustomStringConvertible {
    private enum Code: String, Hashable, Sendable {
        case connectionClosed
        case timedOut
        case invalidKeyFile
        case invalidServerKeyFile
        case handshakeFailed
        case refused
        case notConnected
        case unknownVariable
        case unknownFunction
        case busy
        case invalidResponse
        case argumentTooLong
        case cannotListen
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

    /// The device is not connected to this gateway.
    public static func notConnected(_ message: String = "the device is not connected") -> GatewayError {
        GatewayError(.notConnected, message)
    }

    /// The device declares no variable of that name.
    public static func unknownVariable(_ name: String) -> GatewayError {
        GatewayError(.unknownVariable, "the device has no variable \(name)")
    }

    /// The device declares no function of that name.
    public static func unknownFunction(_ name: String) -> GatewayError {
        GatewayError(.unknownFunction, "the device has no function \(name)")
    }

    /// The device has as many requests in flight as its connection can track.
    public static func busy(_ message: String) -> GatewayError { GatewayError(.busy, message) }

    /// The device answered with something that does not decode as the request expects.
    public static func invalidResponse(_ message: String) -> GatewayError { GatewayError(.invalidResponse, message) }

    /// The device refused a function argument as too long for its firmware.
    public static func argumentTooLong(_ message: String) -> GatewayError { GatewayError(.argumentTooLong, message) }

    /// The gateway cannot listen on its address (in use, not this machine's, no permission).
    public static func cannotListen(_ message: String) -> GatewayError { GatewayError(.cannotListen, message) }

    /// The message.
    public var description: String { message }

    /// The kind, as a relayed answer carries it to another node (``NodeRelay``).
    var relayedKind: String { code.rawValue }

    /// The error another node's gateway answered with (`refused` for a kind this node does not
    /// know).
    init(relayedKind kind: String, message: String) {
        self.init(Code(rawValue: kind) ?? .refused, message)
    }

    /// Errors compare by kind.
    public static func == (lhs: GatewayError, rhs: GatewayError) -> Bool { lhs.code == rhs.code }

    /// Hashes the kind.
    public func hash(into hasher: inout Hasher) { hasher.combine(code) }
}
