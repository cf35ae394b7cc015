import ServerSentEvents
import Testing

@Suite("ServerSentEventEncoder")
struct ServerSentEventEncoderTests {
    @Test("A named event is encoded exactly as the original sends it")
    func exactBytes() {
        let bytes = ServerSentEventEncoder.encode(ServerSentEvent(event: "temperature", data: "25.34"))
        #expect(bytes == "event: temperature\ndata: 25.34\n\n")
    }

    @Test("Fields are written in the order event, data, id, retry (Aerosol's streams)")
    func fieldOrder() {
        let bytes = ServerSentEventEncoder.encode(ServerSentEvent(event: "a", data: "x", id: "42", retry: 2000))
        #expect(bytes == "event: a\ndata: x\nid: 42\nretry: 2000\n\n")
    }

    @Test("An unnamed event has only data lines")
    func unnamed() {
        #expect(ServerSentEventEncoder.encode(ServerSentEvent(data: "x")) == "data: x\n\n")
    }

    @Test(
        "Every line of multi-line data gets its own data: line",
        arguments: [
            ("a\nb", "data: a\ndata: b\n\n"),
            ("a\r\nb", "data: a\ndata: b\n\n"),
            ("a\rb", "data: a\ndata: b\n\n"),
            ("", "data: \n\n"),
            ("\n", "data: \ndata: \n\n"),
            ("a\n", "data: a\ndata: \n\n"),
            ("a\n\nb", "data: a\ndata: \ndata: b\n\n"),
            ("a\r\n\rb", "data: a\ndata: \ndata: b\n\n"),
        ]
    )
    func multiLineData(_ data: String, _ expected: String) {
        #expect(ServerSentEventEncoder.encode(ServerSentEvent(data: data)) == expected)
    }

    @Test("Line ends in an event name or id are replaced by spaces")
    func sanitizedFields() {
        let bytes = ServerSentEventEncoder.encode(ServerSentEvent(event: "a\nb\r\nc", data: "x", id: "1\r2"))
        #expect(bytes == "event: a b c\ndata: x\nid: 1 2\n\n")
    }

    @Test("A forged frame in a name cannot escape its line: the parser sees one event")
    func forgedFrame() {
        let name = "x\n\nid: 999999\nretry: 86400000\nevent: forged\ndata: {}"
        let bytes = ServerSentEventEncoder.encode(ServerSentEvent(event: name, data: "{}", id: "7"))
        #expect(bytes.utf8.filter { $0 == 0x0A }.count == 4)
        var parser = ServerSentEventParser()
        let events = parser.feed(bytes)
        #expect(events.count == 1)
        #expect(events.first?.id == "7")
        #expect(events.first?.retry == nil)
    }

    @Test("Comments are one line per line of text")
    func comments() {
        #expect(ServerSentEventEncoder.comment("ok") == ":ok\n")
        #expect(ServerSentEventEncoder.comment("") == ":\n")
        #expect(ServerSentEventEncoder.comment("a\nb\r\nc") == ":a\n:b\n:c\n")
    }

    @Test("A comment parses as a comment and dispatches nothing")
    func commentParses() {
        var parser = ServerSentEventParser()
        #expect(parser.feed(ServerSentEventEncoder.comment("ok\nkeepalive") + "\n").isEmpty)
        #expect(parser.commentCount == 2)
    }
}

/// Events to encode and parse back. CR and CRLF in data cannot survive `text/event-stream` (the
/// parser turns every line end into LF), so `expected` is the event with line ends normalised.
struct RoundTripCase: Sendable, CustomTestStringConvertible {
    var event: ServerSentEvent
    var expected: ServerSentEvent
    var testDescription: String { String(reflecting: event.data) }

    init(_ event: ServerSentEvent, expectedData: String? = nil) {
        self.event = event
        self.expected = event
        if let expectedData { expected.data = expectedData }
    }
}

let roundTripCases: [RoundTripCase] = [
    RoundTripCase(ServerSentEvent(event: "temperature", data: "25.34")),
    RoundTripCase(
        ServerSentEvent(
            event: "temperature",
            data: #"{"data":"25.34","ttl":60,"published_at":"2015-07-18T00:12:18.174Z","coreid":"api"}"#,
            id: "17"
        )
    ),
    RoundTripCase(ServerSentEvent(data: "")),
    RoundTripCase(ServerSentEvent(event: "e", data: "", id: "1")),
    RoundTripCase(ServerSentEvent(data: "line one\nline two\nline three")),
    RoundTripCase(ServerSentEvent(data: "\n")),
    RoundTripCase(ServerSentEvent(data: "\n\n")),
    RoundTripCase(ServerSentEvent(data: "trailing\n")),
    RoundTripCase(ServerSentEvent(data: "\nleading")),
    RoundTripCase(ServerSentEvent(data: "windows\r\nline\r\nends"), expectedData: "windows\nline\nends"),
    RoundTripCase(ServerSentEvent(data: "old\rmac"), expectedData: "old\nmac"),
    RoundTripCase(ServerSentEvent(data: "mixed\r\n\r\n\n\rend"), expectedData: "mixed\n\n\n\nend"),
    RoundTripCase(ServerSentEvent(data: " leading space")),
    RoundTripCase(ServerSentEvent(data: "  two leading spaces")),
    RoundTripCase(ServerSentEvent(data: ":looks like a comment")),
    RoundTripCase(ServerSentEvent(data: "data: nested field\n\nevent: fake")),
    RoundTripCase(ServerSentEvent(event: "°C/日本", data: "°C 😀 e\u{301}", id: "ü-1")),
    RoundTripCase(ServerSentEvent(event: " spaced name", data: "x", id: " 5")),
    RoundTripCase(ServerSentEvent(event: "spark/status", data: "online", id: "9", retry: 3000)),
    RoundTripCase(ServerSentEvent(data: "tab\there\u{1}control")),
]

@Suite("ServerSentEventEncoder: round trip")
struct ServerSentEventRoundTripTests {
    @Test("An encoded event parses back to the same event", arguments: roundTripCases)
    func roundTrip(_ testCase: RoundTripCase) {
        let bytes = Array(ServerSentEventEncoder.encode(testCase.event).utf8)
        #expect(parseEvents(chunks: [bytes]).events == [testCase.expected])
        // And however the bytes are split.
        for split in 0...bytes.count {
            let events = parseEvents(chunks: [Array(bytes[..<split]), Array(bytes[split...])]).events
            #expect(events == [testCase.expected], "split at \(split)")
        }
    }

    @Test("A stream of encoded events and comments parses back to the same events in order")
    func stream() {
        // Every event carries an id: the parser carries the last id forward to events without one.
        let events = roundTripCases.enumerated().map { index, testCase in
            var event = testCase.event
            event.id = String(index + 1)
            return event
        }
        var text = ServerSentEventEncoder.comment("ok") + "\n"
        for event in events {
            text += ServerSentEventEncoder.encode(event)
            text += ServerSentEventEncoder.comment("")
            text += "\n"
        }
        var parser = ServerSentEventParser()
        let parsed = parser.feed(text)
        let expected = roundTripCases.enumerated().map { index, testCase in
            var event = testCase.expected
            event.id = String(index + 1)
            return event
        }
        #expect(parsed == expected)
        #expect(parser.lastEventID == String(events.count))
        #expect(parser.commentCount == events.count + 1)
    }
}
