/// A decoded variable value.
public enum VariableValue: Hashable, Sendable {
    /// A boolean.
    case bool(Bool)
    /// A 32-bit signed integer.
    case int32(Int32)
    /// A string (invalid UTF-8 is repaired with U+FFFD).
    case string(String)
    /// A double.
    case double(Double)
    /// No value.
    case null

    /// Decodes a variable reply payload according to its declared type.
    ///
    /// - Throws: ``DeviceProtocolError/invalidVariableValue`` when the length does not fit the type
    ///   (bool 1 byte, int32 4, double 8).
    public init(payload: some Collection<UInt8>, type: VariableType) throws(DeviceProtocolError) {
        let bytes = Array(payload)
        switch type {
        case .bool:
            guard bytes.count == 1 else { throw .invalidVariableValue }
            self = .bool(bytes[0] != 0)
        case .int32:
            guard bytes.count == 4 else { throw .invalidVariableValue }
            self = .int32(Int32(bitPattern: bytes.reduce(0) { $0 << 8 | UInt32($1) }))
        case .string:
            self = .string(String(decoding: bytes, as: UTF8.self))
        case .null:
            self = .null
        case .double:
            guard bytes.count == 8 else { throw .invalidVariableValue }
            let bits = bytes.reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            self = .double(Double(bitPattern: bits))
        }
    }

    /// The payload a device sends for this value.
    public var payload: [UInt8] {
        switch self {
        case .bool(let value):
            return [value ? 1 : 0]
        case .int32(let value):
            let bits = UInt32(bitPattern: value)
            return [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: bits >> $0) }
        case .string(let value):
            return Array(value.utf8)
        case .double(let value):
            let bits = value.bitPattern
            return (0..<8).map { UInt8(truncatingIfNeeded: bits >> (8 * $0)) }
        case .null:
            return []
        }
    }

    /// The declared type of this value.
    public var type: VariableType {
        switch self {
        case .bool: .bool
        case .int32: .int32
        case .string: .string
        case .double: .double
        case .null: .null
        }
    }
}
