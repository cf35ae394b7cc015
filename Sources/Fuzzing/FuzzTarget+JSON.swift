import AerosolModels
import Foundation

extension FuzzTarget {
    /// Accepted text serialises to JSON that parses to the same value (numbers compared by
    /// value: `1.0` is written `1`), that Foundation's parser accepts too, and that nests no
    /// deeper than the parser's limit. Refused text is reported with a message and the byte
    /// offset of the problem, inside the input.
    func checkJSON(_ input: [UInt8]) throws(PropertyViolation) -> Verdict {
        let value: JSONValue
        do {
            value = try JSONValue.parse(input)
        } catch {
            let text = "\(error)"
            guard let range = text.range(of: " at byte "), let offset = Int(text[range.upperBound...]) else {
                throw self.violation("an error without an offset: \(text)")
            }
            try self.require(range.lowerBound > text.startIndex, "an error without a message")
            try self.require((0...input.count).contains(offset), "offset \(offset) outside \(input.count) bytes")
            return .rejected
        }
        let serialized = value.serialized
        let again: JSONValue
        do {
            again = try JSONValue.parse(Array(serialized.utf8))
        } catch {
            throw self.violation("the serialised value does not parse: \(error) in \(serialized.prefix(200))")
        }
        try self.require(Self.sameJSON(value, again), "the value changed in the round trip: \(serialized.prefix(200))")
        try self.require(
            (try? JSONSerialization.jsonObject(with: Data(serialized.utf8), options: [.fragmentsAllowed])) != nil,
            "Foundation refuses the serialised value: \(serialized.prefix(200))"
        )
        try self.require(Self.depth(value) <= 512, "a value nested deeper than the limit")
        return .accepted
    }

    /// Equality with numbers compared by value.
    static func sameJSON(_ a: JSONValue, _ b: JSONValue) -> Bool {
        switch (a, b) {
        case (.int(let x), .double(let y)), (.double(let y), .int(let x)): return Double(x) == y
        case (.double(let x), .double(let y)): return x == y
        case (.array(let x), .array(let y)): return x.count == y.count && zip(x, y).allSatisfy { sameJSON($0, $1) }
        case (.object(let x), .object(let y)):
            return x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && sameJSON($0.1, $1.1) }
        default: return a == b
        }
    }

    static func depth(_ value: JSONValue) -> Int {
        switch value {
        case .array(let items): 1 + (items.map(depth).max() ?? 0)
        case .object(let members): 1 + (members.map { depth($0.1) }.max() ?? 0)
        default: 0
        }
    }
}
