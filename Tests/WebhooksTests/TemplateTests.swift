import AerosolModels
import Foundation
import Testing

@testable import Webhooks

@Suite("Templates")
struct TemplateTests {
    private func render(_ text: String, escaping: WebhookTemplate.Escaping = .html, event: Event, product: Bool = false)
        throws -> String
    {
        try WebhookTemplate(text, escaping: escaping, field: "test").render(
            TemplateVariables(event: event, productFields: product)
        )
    }

    /// Found by fuzzing: swift-mustache dropped a last line of only spaces and tabs, so a
    /// body or URL ending that way was sent without it ("a\n  " as "a\n", "  " as "").
    @Test(arguments: [
        "a\n  ", "  ", "\t \t", "x\r\n\t", "x\r ", " \r ", "x\u{2028} ", "{{PARTICLE_EVENT_NAME}}\n ",
        "{{#list}}{{/list}}\n  ",
    ])
    func aLastLineOfBlanksIsKept(_ text: String) throws {
        let event = Fixtures.event()
        for escaping in [WebhookTemplate.Escaping.html, .none] {
            let rendered = try render(text, escaping: escaping, event: event)
            let expected = text.replacingOccurrences(of: "{{PARTICLE_EVENT_NAME}}", with: "demo")
                .replacingOccurrences(of: "{{#list}}{{/list}}", with: "")
            #expect(rendered == expected, "\(escaping)")
        }
    }

    @Test func blanksBeforeATagOnTheLastLineAreNotDoubled() throws {
        let event = Fixtures.event()
        #expect(try render("a\n  {{PARTICLE_EVENT_NAME}}", event: event) == "a\n  demo")
        #expect(try render("a {{PARTICLE_EVENT_NAME}}  ", event: event) == "a demo  ")
    }

    /// Found by fuzzing: swift-mustache parses (and renders) sections recursively, so a body of
    /// a few thousand nested sections overflowed the stack and crashed the server when the
    /// webhook was created. Templates nested deeper than 32 sections are now refused.
    @Test func deeplyNestedSectionsAreRefusedNotACrash() throws {
        for open in ["{{#a}}", "{{^a}}", "{{$a}}", "{{ #a }}"] {
            let deep = String(repeating: open, count: 20_000) + "x"
            #expect(throws: WebhookError.self) { try WebhookTemplate(deep, field: "body") }
        }
        // With other delimiters, and in a definition's body.
        let custom = "{{=<% %>=}}" + String(repeating: "<%#a%>", count: 5_000)
        #expect(throws: WebhookError.self) { try WebhookTemplate(custom, field: "body") }
        let body = String(repeating: "{{#a}}", count: 10_000)
        #expect {
            try Fixtures.definition(#"{"event":"e","url":"http://h.com","body":"\#(body)"}"#)
        } throws: { error in
            "\(error)".contains("sections nested more than 32 deep")
        }
        // 32 levels are fine, and so are any number of sections side by side.
        let nested = String(repeating: "{{#a}}", count: 32) + "x" + String(repeating: "{{/a}}", count: 32)
        #expect(try render(nested, event: Fixtures.event()) == "")
        let flat = String(repeating: "{{#a}}x{{/a}}", count: 1_000)
        #expect(try render(flat, event: Fixtures.event()) == "")
        #expect(WebhookTemplate.sectionDepth(of: "{{! {{#a}} }}{{{b}}}{{#c}}{{/c}}") == 1)
    }

    /// Sections over an array nested in one another iterate `count^depth` times: twenty levels
    /// over a three-item array never finished (a delivery worker spun for ever, growing the body).
    /// Each rendering may now iterate over 10,000 array items in all; then arrays are empty.
    @Test func nestedIterationIsBounded() throws {
        let event = Fixtures.event(
            data: #"{"list":[1,2,3],"big":[\#((0..<9_000).map(String.init).joined(separator: ","))]}"#
        )
        let nested = String(repeating: "{{#list}}", count: 20) + "x" + String(repeating: "{{/list}}", count: 20)
        let rendered = try render(nested, event: event)
        #expect(rendered.count <= TemplateVariables.maximumIterations)
        #expect(rendered.count > 1_000)
        // A single loop over 9,000 items is whole, and the budget is per rendering.
        let loop = try WebhookTemplate("{{#big}}{{.}},{{/big}}", field: "body")
        for _ in 0..<3 {
            let text = loop.render(TemplateVariables(event: event, productFields: false))
            #expect(text.split(separator: ",").count == 9_000)
        }
    }

    @Test func everyPredefinedVariableIsSet() throws {
        let event = Fixtures.event("demo/x", data: "21", id: 99, productID: 42)
        let names = [
            "PARTICLE_DEVICE_ID", "PARTICLE_EVENT_NAME", "PARTICLE_EVENT_VALUE", "PARTICLE_PUBLISHED_AT",
            "PARTICLE_EVENT_ID", "PRODUCT_ID", "PRODUCT_USER_ID", "PRODUCT_VERSION", "SPARK_EVENT_VALUE",
            "SPARK_PUBLISHED_AT", "SPARK_CORE_ID", "SPARK_EVENT_NAME", "PARTICLE_EVENT_BASE64",
        ]
        let text = names.map { "{{{\($0)}}}" }.joined(separator: "|")
        #expect(
            try render(text, event: event, product: true)
                == "3f002b000000000000000000|demo/x|21|2017-02-01T21:08:05.763Z|99|42|5b8a4dabec3a82be794912e9|3|21|2017-02-01T21:08:05.763Z|3f002b000000000000000000|demo/x|MjE="
        )
        #expect(
            try render("{{{PARTICLE_EVENT_JSON}}}", event: event)
                == #"{"event":"demo/x","data":"21","ttl":60,"published_at":"2017-02-01T21:08:05.763Z","coreid":"3f002b000000000000000000","userid":"5b8a4dabec3a82be794912e9","version":3,"productID":42}"#
        )
    }

    @Test func topLevelKeysOfJSONDataAreVariables() throws {
        let event = Fixtures.event(
            data: #"{"temp":21,"on":true,"a":{"b":"deep"},"c":[{"ca":"x"},{"ca":"y"}],"none":null}"#
        )
        #expect(try render("{{temp}} {{on}} {{a.b}} {{c.0.ca}} {{c.1.ca}}", event: event) == "21 true deep x y")
        #expect(try render("{{#c}}[{{ca}}]{{/c}}", event: event) == "[x][y]")
        #expect(try render("{{^missing}}no{{/missing}}{{^none}}-null{{/none}}", event: event) == "no-null")
        #expect(try render("{{#on}}yes{{/on}}", event: event) == "yes")
    }

    @Test func predefinedNamesWinOverDataKeys() throws {
        let event = Fixtures.event(data: #"{"PARTICLE_DEVICE_ID":"spoofed","x":"1"}"#)
        #expect(try render("{{PARTICLE_DEVICE_ID}}/{{x}}", event: event) == "3f002b000000000000000000/1")
    }

    @Test func doubleBracesEscapeHTMLOutsideJSON() throws {
        let event = Fixtures.event(data: #"<a href="x">&'</a>"#)
        #expect(
            try render("{{PARTICLE_EVENT_VALUE}}", event: event)
                == "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;"
        )
        #expect(try render("{{{PARTICLE_EVENT_VALUE}}}", event: event) == #"<a href="x">&'</a>"#)
    }

    @Test func jsonBodiesAreNeverHTMLEscaped() throws {
        let event = Fixtures.event(data: #"<a&"b'>"#)
        #expect(try render("{{PARTICLE_EVENT_VALUE}}", escaping: .none, event: event) == #"<a&"b'>"#)
        let request = try Fixtures.render(
            #"{"event":"demo","url":"http://host.com","noDefaults":true,"json":{"v":"{{PARTICLE_EVENT_VALUE}}","w":"{{{PARTICLE_EVENT_VALUE}}}"}}"#,
            event: event
        )
        #expect(request.body == #"{"v":"<a&\"b'>","w":"<a&\"b'>"}"#)
        let string = try Fixtures.render(
            #"{"event":"demo","url":"http://host.com","noDefaults":true,"json":"[\"{{PARTICLE_EVENT_NAME}}\", \"&<>\"]"}"#,
            event: event
        )
        #expect(string.body == #"["demo", "&<>"]"#)
    }

    @Test func theTextPragmaKeepsTheTemplatesOwnLines() throws {
        let event = Fixtures.event()
        #expect(try render("\n{{PARTICLE_EVENT_NAME}}\n", escaping: .none, event: event) == "\ndemo\n")
        #expect(try render("  {{PARTICLE_EVENT_NAME}}", escaping: .none, event: event) == "  demo")
        #expect(
            try render("{{#PARTICLE_EVENT_NAME}}\nx\n{{/PARTICLE_EVENT_NAME}}", escaping: .none, event: event) == "x\n"
        )
        #expect(try render("{{#PARTICLE_EVENT_NAME}}\nx\n{{/PARTICLE_EVENT_NAME}}", event: event) == "x\n")
    }

    @Test func invalidTemplatesAreRefusedWithTheirPlace() {
        #expect(
            throws: WebhookError.invalid(
                "Invalid Mustache template in url: a section is not closed (line 1, column 19)"
            )
        ) {
            try WebhookTemplate("http://x/{{#a}}...", field: "url")
        }
        #expect(
            throws: WebhookError.invalid(
                "Invalid Mustache template in json.v: a section is closed with the wrong name (line 1, column 10)"
            )
        ) {
            try Fixtures.definition(#"{"event":"e","url":"http://h.com","json":{"v":"{{#a}}{{/b}}"}}"#)
        }
    }
}
