import AerosolModels
import Foundation
import Testing

@Suite("JSONWriter")
struct JSONWriterTests {
    @Test(
        "Strings are quoted with quotes, backslashes and control characters escaped",
        arguments: [
            ("plain", #""plain""#),
            ("", #""""#),
            (#"say "hi""#, #""say \"hi\"""#),
            (#"C:\dir"#, #""C:\\dir""#),
            ("a\nb", #""a\nb""#),
            ("a\r\nb", #""a\r\nb""#),
            ("tab\t", #""tab\t""#),
            ("\u{08}\u{0C}", #""\b\f""#),
            ("\u{01}", #""\u0001""#),
            ("\u{00}", #""\u0000""#),
            ("\u{1F}", #""\u001f""#),
            ("\u{1B}[0m", #""\u001b[0m""#),
            ("°C 😀 日本 e\u{301}", "\"°C 😀 日本 e\u{301}\""),
            ("\u{7F}\u{2028}", "\"\u{7F}\u{2028}\""),
            ("</script>", #""</script>""#),
            ("\"\\\n\u{01}°", #""\"\\\n\u0001°""#),
        ]
    )
    func quoted(_ value: String, _ expected: String) {
        var output = ""
        JSONWriter.appendQuoted(value, to: &output)
        #expect(output == expected)
        var writer = JSONWriter()
        writer.string(value)
        #expect(writer.output == expected)
    }

    @Test("Every string, once quoted, is one line of valid JSON that decodes to itself")
    func quotedDecodesBack() throws {
        var values = (0..<0x80).map { "a" + String(UnicodeScalar(UInt8($0))) + "b" }
        values += ["", "\"\"", "\\\\", "°C", "😀", "e\u{301}", "\u{10FFFF}", "\u{FEFF}x", "a\r\n\r\nb"]
        for value in values {
            var output = ""
            JSONWriter.appendQuoted(value, to: &output)
            #expect(!output.utf8.contains { $0 < 0x20 }, "raw control byte in \(output.debugDescription)")
            let decoded = try JSONDecoder().decode(String.self, from: Data(output.utf8))
            #expect(decoded == value)
        }
    }

    @Test("An object with every kind of value")
    func object() {
        var writer = JSONWriter()
        writer.beginObject()
        writer.key("s")
        writer.string("x")
        writer.key("n")
        writer.integer(-42)
        writer.key("big")
        writer.integer(Int64.max)
        writer.key("small")
        writer.integer(UInt8(7))
        writer.key("t")
        writer.bool(true)
        writer.key("f")
        writer.bool(false)
        writer.key("null")
        writer.null()
        writer.key("some")
        writer.stringOrNull("y")
        writer.key("none")
        writer.stringOrNull(nil)
        writer.key("pi")
        writer.number(text: "3.14")
        writer.endObject()
        #expect(
            writer.output
                == #"{"s":"x","n":-42,"big":9223372036854775807,"small":7,"t":true,"f":false,"null":null,"some":"y","none":null,"pi":3.14}"#
        )
    }

    @Test("Commas separate values in nested arrays and objects, and never follow an opening bracket")
    func nesting() {
        var writer = JSONWriter()
        writer.beginArray()
        writer.beginObject()
        writer.key("a")
        writer.integer(1)
        writer.endObject()
        writer.beginObject()
        writer.endObject()
        writer.beginArray()
        writer.endArray()
        writer.beginArray()
        writer.integer(1)
        writer.integer(2)
        writer.beginObject()
        writer.key("b")
        writer.beginArray()
        writer.null()
        writer.endArray()
        writer.key("c")
        writer.string("d")
        writer.endObject()
        writer.endArray()
        writer.string("end")
        writer.endArray()
        #expect(writer.output == #"[{"a":1},{},[],[1,2,{"b":[null],"c":"d"}],"end"]"#)
    }

    @Test("Keys are escaped like strings")
    func escapedKey() {
        var writer = JSONWriter()
        writer.beginObject()
        writer.key("a\"b\n")
        writer.integer(1)
        writer.endObject()
        #expect(writer.output == #"{"a\"b\n":1}"#)
    }

    @Test("A new writer has written nothing")
    func empty() {
        #expect(JSONWriter().output == "")
    }
}
