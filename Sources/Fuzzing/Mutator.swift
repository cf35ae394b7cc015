/// Random structural mutations of an input, for the seeded fuzz runs (libFuzzer makes its own).
///
/// Besides bit flips, truncation, insertion and deletion, it splices in tokens that matter to
/// the parsers (JSON and Mustache punctuation, CoAP nibble edges, line ends, percent escapes)
/// and repeats a slice many times, which builds deep nesting and long runs.
public enum Mutator {
    static let tokens: [[UInt8]] =
        [
            "{", "}", "[", "]", "\"", ",", ":", "\\u", "\\ud800", "\\udc00", "1e400", "-0", "0.5e-3", "null", "true",
            "{{", "}}", "{{#", "{{/", "{{^", "{{{", "}}}", "{{>", "{{<", "{{$", "{{=", "{{!", "{{%", "{{&", ".",
            "\r", "\n", "\r\n", "data:", "id:", "event:", "retry:", ":", "\u{FEFF}",
            "%", "%2", "%zz", "%00", "+", "&", "=", "[]", "%F0%9F", "%C3",
        ].map { Array($0.utf8) } + [
            [0x00], [0xFF], [0xC3], [0xED, 0xA0, 0x80], [0x0D], [0x0E], [0xBD], [0xBE], [0xEF],
        ]

    /// Applies 1–4 random mutations to `bytes`, keeping it at most `limit` bytes long.
    public static func mutate(_ bytes: inout [UInt8], using generator: inout SplitMix64, limit: Int = 70_000) {
        for _ in 0..<(1 + generator.below(4)) {
            Self.mutateOnce(&bytes, using: &generator)
        }
        if bytes.count > limit { bytes.removeLast(bytes.count - limit) }
    }

    private static func mutateOnce(_ bytes: inout [UInt8], using generator: inout SplitMix64) {
        let position = generator.below(bytes.count + 1)
        switch generator.below(10) {
        case 0 where !bytes.isEmpty:
            bytes[min(position, bytes.count - 1)] ^= 1 << UInt8(generator.below(8))
        case 1 where !bytes.isEmpty:
            bytes[min(position, bytes.count - 1)] = UInt8(truncatingIfNeeded: generator.next())
        case 2:
            bytes.removeLast(generator.below(bytes.count + 1))
        case 3 where !bytes.isEmpty:
            let end = min(bytes.count, position + 1 + generator.below(16))
            bytes.removeSubrange(min(position, bytes.count - 1)..<end)
        case 4, 5:
            bytes.insert(contentsOf: Self.tokens[generator.below(Self.tokens.count)], at: position)
        case 6:
            let count = 1 + generator.below(24)
            bytes.insert(contentsOf: (0..<count).map { _ in UInt8(truncatingIfNeeded: generator.next()) }, at: position)
        case 7 where !bytes.isEmpty:
            // Repeat a short slice: nesting, long lines, many options.
            let start = min(position, bytes.count - 1)
            let slice = Array(bytes[start..<min(bytes.count, start + 1 + generator.below(8))])
            let times = [2, 10, 100, 1000, 5000][generator.below(5)]
            bytes.insert(contentsOf: Array([[UInt8]](repeating: slice, count: times).joined()), at: start)
        case 8 where bytes.count > 1:
            // Swap two halves (crossover within the input).
            let cut = 1 + generator.below(bytes.count - 1)
            bytes = Array(bytes[cut...] + bytes[..<cut])
        default:
            bytes.insert(UInt8(truncatingIfNeeded: generator.next()), at: position)
        }
    }
}
