import AerosolModels
import Testing

@Suite("JSONValue.parse is strict")
struct JSONParserTests {
    @Test(arguments: ["[1,]", #"{"a":1,}"#, "01", "1.", "-", "tru", #""\x""#, #""\ud800""#, "\"a\u{01}\"", "[1] 2", ""])
    func refusesInvalidJSON(_ text: String) {
        #expect(throws: (any Error).self) { try JSONValue.parse(Array(text.utf8)) }
    }

    @Test func decodesEscapesSurrogatesAndNumbers() throws {
        let value = try JSONValue.parse(
            Array(#"{"s":"\u00e9\ud83d\ude00\n","i":-12,"d":1.5e3,"b":[true,false,null]}"#.utf8)
        )
        #expect(value["s"] == .string("é😀\n"))
        #expect(value["i"] == .int(-12))
        #expect(value["d"] == .double(1500))
        #expect(value["b"] == .array([.bool(true), .bool(false), .null]))
    }

    /// Found by fuzzing: `1e400` was read as infinity and written back as `null`, so a value
    /// changed meaning on its way through (a webhook's JSON body, a stored definition).
    @Test(arguments: ["1e400", "-1e400", "[1E78901234567890]", #"{"a":21e400}"#])
    func refusesNumbersBeyondDouble(_ text: String) {
        #expect {
            try JSONValue.parse(Array(text.utf8))
        } throws: { error in
            "\(error)".contains("number out of range")
        }
    }

    @Test func keepsTheLargestFiniteNumbers() throws {
        #expect(try JSONValue.parse(Array("1.7976931348623157e308".utf8)) == .double(.greatestFiniteMagnitude))
        #expect(try JSONValue.parse(Array("4.9e-324".utf8)) == .double(.leastNonzeroMagnitude))
        #expect(try JSONValue.parse(Array("1e-400".utf8)) == .double(0))
    }

    @Test func refusesHostileNesting() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(throws: (any Error).self) { try JSONValue.parse(Array(deep.utf8)) }
    }
}
