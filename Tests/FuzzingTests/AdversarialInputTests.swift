import Foundation
import Fuzzing
import Testing

/// Inputs built to exhaust a parser: deep nesting, the largest lengths a field can state, very
/// many small parts, endless lines. Each must keep its target's properties (no trap, no stack
/// overflow, a typed refusal) with buffers bounded by what the parser documents; the suite's
/// time limit catches a parser that goes quadratic or worse.
@Suite(.timeLimit(.minutes(1)))
struct AdversarialInputTests {
    /// Checks `input`; `verdict` `nil` takes either (the channel corrupts half its inputs).
    private func expect(_ target: FuzzTarget, _ input: [UInt8], _ verdict: Verdict?) {
        do {
            let outcome = try target.check(input)
            #expect(verdict == nil || outcome == verdict, "\(target.rawValue): \(input.count) bytes")
        } catch {
            Issue.record("\(error)")
        }
    }

    private func text(_ string: String) -> [UInt8] { Array(string.utf8) }

    @Test func deepNesting() {
        let deepArray = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        let deepObject = String(repeating: #"{"a":"#, count: 50_000) + "1" + String(repeating: "}", count: 50_000)
        for target in [FuzzTarget.json, .jsonBody, .describe, .webhook] {
            self.expect(target, self.text(deepArray), .rejected)
            self.expect(target, self.text(deepObject), .rejected)
        }
        let atTheLimit = String(repeating: "[", count: 512) + String(repeating: "]", count: 512)
        self.expect(.json, self.text(atTheLimit), .accepted)
        self.expect(.template, self.text(String(repeating: "{{#a}}", count: 20_000)), .rejected)
        self.expect(
            .template,
            self.text(String(repeating: "{{^a}}", count: 33) + String(repeating: "{{/a}}", count: 33)),
            .rejected
        )
        let sections = String(repeating: "{{#list}}", count: 3) + "{{.}}" + String(repeating: "{{/list}}", count: 3)
        self.expect(.template, self.text(sections), .accepted)
    }

    @Test func largestStatedLengths() {
        // CoAP: an option of 65804 bytes (the most 14 + 0xFFFF can say), one that promises it and
        // stops short, and 10,000 small options.
        let value = [UInt8](repeating: 0x61, count: 65_804)
        self.expect(.coap, [0x40, 0x02, 0x00, 0x01, 0xBE, 0xFF, 0xFF] + value, .accepted)
        self.expect(.coap, [0x40, 0x02, 0x00, 0x01, 0xBE, 0xFF, 0xFF] + value.prefix(100), .rejected)
        let many =
            [0x40, 0x02, 0x00, 0x01, 0xB1, 0x61] + Array([[UInt8]](repeating: [0x01, 0x62], count: 10_000).joined())
        self.expect(.coap, many, .accepted)
        // Frames: the largest length prefix, over the limit at once; one just under it, waiting.
        self.expect(.frames, [0xFF, 0xF0] + [UInt8](repeating: 0, count: 1000), .rejected)
        self.expect(.frames, [0x40, 0x10] + [UInt8](repeating: 0, count: 16_000), .accepted)
        // Hello: a device ID length of 65535 with no ID.
        self.expect(.hello, [0, 6, 0, 3, 0, 0, 0, 6, 0xFF, 0xFF], .rejected)
        // Channel: 64 messages of 255 bytes.
        self.expect(
            .channel,
            Array([[UInt8]](repeating: [0xFF] + [UInt8](repeating: 7, count: 255), count: 64).joined()),
            nil
        )
    }

    @Test func endlessLinesAndManyParts() {
        // SSE: a 70 KB line that never ends, and 10,000 events of one byte.
        self.expect(.sse, self.text("data: " + String(repeating: "x", count: 70_000)), .rejected)
        self.expect(.sse, self.text(String(repeating: "data: x\n\n", count: 10_000)), .accepted)
        // Forms: 20,000 pairs, 20,000 empty pairs, a key of 60 KB.
        self.expect(.form, self.text((0..<20_000).map { "k\($0 % 100)=v\($0)" }.joined(separator: "&")), .accepted)
        self.expect(.form, self.text(String(repeating: "&", count: 20_000)), .accepted)
        self.expect(.form, self.text(String(repeating: "%41", count: 20_000) + "=1"), .accepted)
        // JSON: 20,000 members with the same key; a string of 60,000 escapes.
        let members = (0..<20_000).map { #""k":\#($0)"# }.joined(separator: ",")
        self.expect(.jsonBody, self.text("{" + members + "}"), .accepted)
        self.expect(.json, self.text("\"" + String(repeating: #"\u00e9"#, count: 10_000) + "\""), .accepted)
        // Webhooks: 2,000 headers and a form of 2,000 templated fields.
        let headers = (0..<2000).map { #""X-H\#($0)":"{{temp}}""# }.joined(separator: ",")
        self.expect(.webhook, self.text(#"{"event":"e","url":"http://h.com","headers":{"# + headers + "}}"), .accepted)
        let form = (0..<2000).map { #""f\#($0)":"{{{s}}}""# }.joined(separator: ",")
        self.expect(.webhook, self.text(#"{"event":"e","url":"http://h.com","form":{"# + form + "}}"), .accepted)
    }
}
