/// The type code of a device variable, as Describe reports it.
public enum VariableType: Int, Hashable, Sendable, CaseIterable {
    /// 1: one byte, 0 or 1.
    case bool = 1
    /// 2: 4 bytes, big-endian two's complement.
    case int32 = 2
    /// 4: raw bytes, no terminator.
    case string = 4
    /// 5: an old local cloud's `null` mapping; not emitted by current Device OS.
    case null = 5
    /// 9: 8 bytes IEEE-754, little-endian.
    case double = 9

    /// The name the Cloud API uses (`bool`, `int32`, `string`, `null`, `double`).
    public var apiName: String {
        switch self {
        case .bool: "bool"
        case .int32: "int32"
        case .string: "string"
        case .null: "null"
        case .double: "double"
        }
    }
}
