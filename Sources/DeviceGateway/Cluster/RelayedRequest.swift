import DeviceProtocol
import Foundation

/// What one node sends another on its channel (``NodeRelay``).
enum RelayMessage: Codable, Sendable {
    case request(RelayedRequest)
    case answer(RelayedAnswer)

    var json: String {
        // Encoding these plain values cannot fail.
        String(decoding: (try? JSONEncoder().encode(self)) ?? Data(), as: UTF8.self)
    }
}

/// A device request sent to the node that holds the device's connection, and its answer, as the
/// JSON payload of a PostgreSQL notification (``NodeRelay``).
struct RelayedRequest: Codable, Sendable {
    enum Kind: String, Codable, Sendable {
        case variable, function, signal, ping
        /// Start a firmware update with the file stored in the database under `name` (its
        /// SHA-256), and cancel one.
        case flash, cancelFlash
    }

    /// Matches the answer to the waiting request.
    var id: String
    /// The node that waits for the answer.
    var from: String
    var device: String
    var kind: Kind
    var name: String?
    var argument: String?
    var on: Bool?
}

/// The answer to a ``RelayedRequest``: a value, or the gateway error the device's node got.
struct RelayedAnswer: Codable, Sendable {
    var id: String
    var variable: RelayedValue?
    var result: Int32?
    var online: Bool?
    /// Whether an update was cancelled.
    var cancelled: Bool?
    /// ``GatewayError/kind`` and message, when the request failed (`firmware` and the
    /// ``FirmwareError`` description when the file does not suit the device).
    var error: String?
    var message: String?
}

/// A ``VariableValue`` in JSON.
enum RelayedValue: Codable, Sendable, Equatable {
    case bool(Bool)
    case int32(Int32)
    case string(String)
    case double(Double)
    case null

    init(_ value: VariableValue) {
        switch value {
        case .bool(let value): self = .bool(value)
        case .int32(let value): self = .int32(value)
        case .string(let value): self = .string(value)
        case .double(let value): self = .double(value)
        case .null: self = .null
        }
    }

    var value: VariableValue {
        switch self {
        case .bool(let value): .bool(value)
        case .int32(let value): .int32(value)
        case .string(let value): .string(value)
        case .double(let value): .double(value)
        case .null: .null
        }
    }
}
