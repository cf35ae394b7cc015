/// A minimal streaming JSON writer for the hot paths (SSE data lines), producing compact
/// single-line JSON with every control character escaped.
public struct JSONWriter: Sendable {
    /// The JSON written so far.
    public private(set) var output = ""
    private var needsComma = false

    /// An empty writer.
    public init() {
        output.reserveCapacity(160)
    }

    /// Writes `{`.
    public mutating func beginObject() {
        separate()
        output += "{"
        needsComma = false
    }

    /// Writes `}`.
    public mutating func endObject() {
        output += "}"
        needsComma = true
    }

    /// Writes `[`.
    public mutating func beginArray() {
        separate()
        output += "["
        needsComma = false
    }

    /// Writes `]`.
    public mutating func endArray() {
        output += "]"
        needsComma = true
    }

    /// Writes an object key and its colon.
    public mutating func key(_ key: String) {
        separate()
        Self.appendQuoted(key, to: &output)
        output += ":"
        needsComma = false
    }

    /// Writes a string value.
    public mutating func string(_ value: String) {
        separate()
        Self.appendQuoted(value, to: &output)
        needsComma = true
    }

    /// Writes a string value, or `null`.
    public mutating func stringOrNull(_ value: String?) {
        if let value { string(value) } else { null() }
    }

    /// Writes an integer value.
    public mutating func integer(_ value: some BinaryInteger) {
        separate()
        output += String(value)
        needsComma = true
    }

    /// Writes `true` or `false`.
    public mutating func bool(_ value: Bool) {
        separate()
        output += value ? "true" : "false"
        needsComma = true
    }

    /// Writes a number already formatted as JSON text.
    public mutating func number(text: String) {
        separate()
        output += text
        needsComma = true
    }

    /// Writes `null`.
    public mutating func null() {
        separate()
        output += "null"
        needsComma = true
    }

    private mutating func separate() {
        if needsComma { output += "," }
    }

    /// Appends `value` as a JSON string literal, escaping `"`, `\` and every control character.
    public static func appendQuoted(_ value: String, to output: inout String) {
        output += "\""
        var needsEscape = false
        for byte in value.utf8 where byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
            needsEscape = true
            break
        }
        if !needsEscape {
            output += value
        } else {
            for scalar in value.unicodeScalars {
                switch scalar {
                case "\"": output += "\\\""
                case "\\": output += "\\\\"
                case "\n": output += "\\n"
                case "\r": output += "\\r"
                case "\t": output += "\\t"
                case "\u{08}": output += "\\b"
                case "\u{0C}": output += "\\f"
                case let c where c.value < 0x20:
                    let hex = String(c.value, radix: 16)
                    output += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                default: output.unicodeScalars.append(scalar)
                }
            }
        }
        output += "\""
    }
}
