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

    @Test func refusesHostileNesting() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(throws: (any Error).self) { try JSONValue.parse(Array(deep.utf8)) }
    }
}
