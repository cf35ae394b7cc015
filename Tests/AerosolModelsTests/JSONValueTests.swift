import AerosolModels
import Foundation
import Testing

@Suite("JSONValue")
struct JSONValueTests {
    @Test("serialized is compact JSON that keeps key order in nested objects")
    func serializedKeepsOrder() {
        let value = JSONValue.object([
            ("z", .int(1)),
            ("a", .object([("y", .array([.int(1), .string("x"), .null, .bool(true)])), ("b", .bool(false))])),
            ("m", .object([])),
            ("e", .array([])),
        ])
        #expect(value.serialized == #"{"z":1,"a":{"y":[1,"x",null,true],"b":false},"m":{},"e":[]}"#)
    }

    @Test("Strings in keys and values are escaped")
    func serializedEscapes() {
        let value = JSONValue.object([("k\"\\", .string("line\nnext\u{01}\"°"))])
        #expect(value.serialized == #"{"k\"\\":"line\nnext\u0001\"°"}"#)
    }

    @Test(
        "Numbers serialize as JSON numbers; non-finite doubles as null",
        arguments: [
            (JSONValue.int(0), "0"),
            (.int(-7), "-7"),
            (.int(Int64.min), "-9223372036854775808"),
            (.double(1.5), "1.5"),
            (.double(-0.25), "-0.25"),
            (.double(2), "2"),
            (.double(-3), "-3"),
            (.double(1e20), "1e+20"),
            (.double(.infinity), "null"),
            (.double(-.infinity), "null"),
            (.double(.nan), "null"),
        ]
    )
    func numbers(_ value: JSONValue, _ expected: String) throws {
        #expect(value.serialized == expected)
        // Whatever is written is valid JSON.
        _ = try JSONSerialization.jsonObject(with: Data(value.serialized.utf8), options: .fragmentsAllowed)
    }

    @Test("parse reads every kind of value")
    func parseValid() throws {
        let text = #"""
            {"name":"temp","data":null,"private":true,"public":false,"ttl":60,"ratio":0.5,"neg":-12,
             "list":[1,"two",[3],{"four":4}],"nested":{"inner":{"deep":"é😀 \u00e9\ud83d\ude00\n"}}}
            """#
        let value = try JSONValue.parse(Array(text.utf8))
        #expect(value["name"] == .string("temp"))
        #expect(value["data"] == .null)
        #expect(value["private"] == .bool(true))
        #expect(value["public"] == .bool(false))
        #expect(value["ttl"] == .int(60))
        #expect(value["ratio"] == .double(0.5))
        #expect(value["neg"] == .int(-12))
        #expect(value["list"] == .array([.int(1), .string("two"), .array([.int(3)]), .object([("four", .int(4))])]))
        #expect(value["nested"]?["inner"]?["deep"] == .string("é😀 é😀\n"))
        #expect(value["missing"] == nil)
    }

    @Test(
        "parse reads top-level scalars and arrays",
        arguments: [
            ("1", JSONValue.int(1)),
            ("-1.25", .double(-1.25)),
            ("true", .bool(true)),
            ("null", .null),
            (#""text""#, .string("text")),
            ("[]", .array([])),
            ("{}", .object([])),
            (" [ 1 , { } ] ", .array([.int(1), .object([])])),
        ]
    )
    func parseScalars(_ text: String, _ expected: JSONValue) throws {
        #expect(try JSONValue.parse(Array(text.utf8)) == expected)
    }

    @Test(
        "parse rejects text that is not JSON",
        arguments: [
            "", " ", "{", "}", "[1", #"{"a":}"#, #"{"a" 1}"#, "{'a':1}", "nul", "tru", "NaN", "{} x", #"{"a":1}{"#,
            #""unterminated"#, "01x", "name=temp&data=1",
        ]
    )
    func parseInvalid(_ text: String) {
        #expect(throws: (any Error).self) { try JSONValue.parse(Array(text.utf8)) }
    }

    @Test("parse then serialized is the identity on values with sorted keys")
    func roundTrip() throws {
        let value = JSONValue.object([
            ("a", .string("quote \" backslash \\ newline \n control \u{01} unicode °C 😀")),
            ("b", .array([.int(-1), .int(Int64.max), .double(0.5), .bool(true), .null])),
            ("c", .object([("x", .object([("y", .array([]))]))])),
        ])
        #expect(try JSONValue.parse(Array(value.serialized.utf8)) == value)
    }

    /// Bug: the type promises that objects keep their key order, but `init(from:)` sorts the keys of
    /// every parsed object, so a request's JSON object comes back reordered.
    @Test("parse keeps the key order of the text")
    func parseKeepsKeyOrder() throws {
        let text = #"{"name":"temp","data":{"z":1,"a":2},"private":true}"#
        let value = try JSONValue.parse(Array(text.utf8))
        #expect(value.serialized == text)
    }

    @Test("Equality is structural and order-sensitive for objects")
    func equality() {
        #expect(JSONValue.object([("a", .int(1)), ("b", .int(2))]) == .object([("a", .int(1)), ("b", .int(2))]))
        #expect(JSONValue.object([("a", .int(1)), ("b", .int(2))]) != .object([("b", .int(2)), ("a", .int(1))]))
        #expect(JSONValue.object([("a", .int(1))]) != .object([("a", .int(1)), ("b", .int(2))]))
        #expect(JSONValue.int(1) != .double(1))
        #expect(JSONValue.string("1") != .int(1))
        #expect(JSONValue.array([.null]) != .array([]))
    }

    @Test("The subscript finds the first member with a key, and nothing in non-objects")
    func subscriptLookup() {
        let value = JSONValue.object([("a", .int(1)), ("a", .int(2))])
        #expect(value["a"] == .int(1))
        #expect(value["b"] == nil)
        #expect(JSONValue.array([.int(1)])["a"] == nil)
        #expect(JSONValue.string("a")["a"] == nil)
    }

    @Test("Optional helpers give null for nil")
    func optionalHelpers() {
        #expect(JSONValue.string(nil as String?) == .null)
        #expect(JSONValue.string("x" as String?) == .string("x"))
        #expect(JSONValue.int(nil as Int?) == .null)
        #expect(JSONValue.int(5 as Int?) == .int(5))
        #expect(JSONValue.timestamp(nil) == .null)
        #expect(
            JSONValue.timestamp(Date(timeIntervalSince1970: 1_437_178_338.174)) == .string("2015-07-18T00:12:18.174Z")
        )
    }
}
