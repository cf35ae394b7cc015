import ServerSentEvents
import Testing

@Suite("ServerSentEventParser: line endings")
struct ServerSentEventParserLineEndingTests {
    @Test(
        "LF, CR and CRLF line endings give the same event",
        arguments: ["\n", "\r", "\r\n"]
    )
    func lineEnding(_ end: String) {
        let stream = "event: temperature\(end)data: 25.34\(end)\(end)"
        #expect(parseEvents(stream) == [ServerSentEvent(event: "temperature", data: "25.34")])
    }

    @Test("Mixed line endings in one stream")
    func mixedLineEndings() {
        let stream = "event: a\r\ndata: 1\n\rdata: 2\r\r\ndata: 3\n\n"
        #expect(
            parseEvents(stream) == [
                ServerSentEvent(event: "a", data: "1"),
                ServerSentEvent(data: "2"),
                ServerSentEvent(data: "3"),
            ]
        )
    }

    @Test("A CRLF split across two chunks is one line end, not two")
    func crlfSplitAcrossChunks() {
        var parser = ServerSentEventParser()
        #expect(parser.feed("data: first\r").isEmpty)
        // If the LF were taken as a second line end, it would be a blank line and dispatch "first".
        #expect(parser.feed("\n").isEmpty)
        #expect(parser.feed("data: second\r").isEmpty)
        #expect(parser.feed("\n\r") == [ServerSentEvent(data: "first\nsecond")])
    }

    @Test("A CRLF split across chunks joins the data lines of one event")
    func crlfSplitJoinsDataLines() {
        var parser = ServerSentEventParser()
        var events = parser.feed("data: a\r")
        events += parser.feed("\ndata: b\r")
        events += parser.feed("\n\r")
        events += parser.feed("\n")
        #expect(events == [ServerSentEvent(data: "a\nb")])
    }

    @Test("Two CRs are a line end and a blank line")
    func doubleCR() {
        #expect(parseEvents("data: x\r\r") == [ServerSentEvent(data: "x")])
    }

    @Test("No event is dispatched until the blank line arrives")
    func incompleteBlock() {
        #expect(parseEvents("data: x").isEmpty)
        #expect(parseEvents("data: x\n").isEmpty)
        #expect(parseEvents("event: a\ndata: x\r\n").isEmpty)
    }
}

@Suite("ServerSentEventParser: fields")
struct ServerSentEventParserFieldTests {
    @Test("Multi-line data is joined with LF")
    func multiLineData() {
        #expect(parseEvents("data: a\ndata: b\ndata: c\n\n") == [ServerSentEvent(data: "a\nb\nc")])
    }

    @Test("Only one space after the colon is stripped")
    func oneSpaceStripped() {
        #expect(parseEvents("data:x\n\n") == [ServerSentEvent(data: "x")])
        #expect(parseEvents("data: x\n\n") == [ServerSentEvent(data: "x")])
        #expect(parseEvents("data:  x \n\n") == [ServerSentEvent(data: " x ")])
        #expect(parseEvents("data:\tx\n\n") == [ServerSentEvent(data: "\tx")])
    }

    @Test("A data value may contain colons")
    func colonInValue() {
        let json = #"{"data":"a:b","ttl":60}"#
        #expect(parseEvents("data: \(json)\n\n") == [ServerSentEvent(data: json)])
    }

    @Test("event: with and without the space")
    func eventName() {
        #expect(parseEvents("event:temperature\ndata: 1\n\n") == [ServerSentEvent(event: "temperature", data: "1")])
        #expect(parseEvents("event: temperature\ndata: 1\n\n") == [ServerSentEvent(event: "temperature", data: "1")])
        #expect(parseEvents("event:  padded\ndata: 1\n\n") == [ServerSentEvent(event: " padded", data: "1")])
    }

    @Test("The event type is reset after each dispatch and the last event: line wins")
    func eventNameResetAndOverride() {
        let events = parseEvents("event: a\nevent: b\ndata: 1\n\ndata: 2\n\n")
        #expect(events == [ServerSentEvent(event: "b", data: "1"), ServerSentEvent(data: "2")])
    }

    @Test("An empty event: is no event type")
    func emptyEventName() {
        #expect(parseEvents("event:\ndata: x\n\n") == [ServerSentEvent(data: "x")])
    }

    @Test("Comments are ignored and counted")
    func comments() {
        var parser = ServerSentEventParser()
        let events = parser.feed(":ok\n\n: keepalive\n:\ndata: a\n:inside a block\ndata: b\n\n")
        #expect(events == [ServerSentEvent(data: "a\nb")])
        #expect(parser.commentCount == 4)
    }

    @Test("A comment-only stream dispatches nothing")
    func commentOnly() {
        var parser = ServerSentEventParser()
        #expect(parser.feed(":ok\n\n:ping\n\n\n\n").isEmpty)
        #expect(parser.commentCount == 2)
    }

    @Test("Unknown fields are ignored and field names are case-sensitive")
    func unknownFields() {
        let stream = "foo: bar\nDATA: upper\nEvent: upper\nname: x\ndata: kept\n\n"
        #expect(parseEvents(stream) == [ServerSentEvent(data: "kept")])
    }

    @Test("A line without a colon is a field with an empty value")
    func fieldWithoutColon() {
        #expect(parseEvents("data\n\n") == [ServerSentEvent(data: "")])
        #expect(parseEvents("data\ndata\n\n") == [ServerSentEvent(data: "\n")])
        #expect(parseEvents("event: a\nevent\ndata: x\n\n") == [ServerSentEvent(data: "x")])
        #expect(parseEvents("unknown\ndata: x\n\n") == [ServerSentEvent(data: "x")])
    }

    @Test("A block without data dispatches nothing")
    func dataLessBlock() {
        var parser = ServerSentEventParser()
        #expect(parser.feed("event: temperature\n\n").isEmpty)
        #expect(parser.feed("retry: 10\nfoo: bar\n\n").isEmpty)
        // The event type of the data-less block does not leak into the next one.
        #expect(parser.feed("data: x\n\n") == [ServerSentEvent(data: "x")])
    }

    @Test("An empty data: dispatches an empty string", arguments: ["data:\n\n", "data: \n\n", "data\n\n"])
    func emptyData(_ stream: String) {
        #expect(parseEvents(stream) == [ServerSentEvent(data: "")])
    }

    @Test("Blank lines between events (keepalives) dispatch nothing")
    func bareNewlineKeepalives() {
        let events = parseEvents("\n\n\nevent: a\ndata: 1\n\n\n\n\nevent: b\ndata: 2\n\n\n")
        #expect(events == [ServerSentEvent(event: "a", data: "1"), ServerSentEvent(event: "b", data: "2")])
    }
}

@Suite("ServerSentEventParser: id and retry")
struct ServerSentEventParserIDTests {
    @Test("id: persists across events and sets lastEventID")
    func idPersists() {
        var parser = ServerSentEventParser()
        #expect(parser.lastEventID == nil)
        let events = parser.feed("id: 1\ndata: a\n\ndata: b\n\nid:2\ndata: c\n\n")
        #expect(events.map(\.id) == ["1", "1", "2"])
        #expect(events.map(\.data) == ["a", "b", "c"])
        #expect(parser.lastEventID == "2")
    }

    @Test("Events before any id: have no id")
    func noID() {
        #expect(parseEvents("data: a\n\n").map(\.id) == [nil])
    }

    @Test("An id: in a block without data still updates lastEventID")
    func idWithoutData() {
        var parser = ServerSentEventParser()
        #expect(parser.feed("id: 7\n\n").isEmpty)
        #expect(parser.lastEventID == "7")
        #expect(parser.feed("data: x\n\n") == [ServerSentEvent(data: "x", id: "7")])
    }

    @Test("An id containing NUL is ignored")
    func idWithNUL() {
        var parser = ServerSentEventParser()
        let events = parser.feed("id: 1\ndata: a\n\nid: 2\u{0}3\ndata: b\n\n")
        #expect(events.map(\.id) == ["1", "1"])
        #expect(parser.lastEventID == "1")
    }

    @Test("An empty id: resets the last event id to the empty string")
    func emptyID() {
        var parser = ServerSentEventParser()
        let events = parser.feed("id: 1\ndata: a\n\nid\ndata: b\n\n")
        #expect(events.map(\.id) == ["1", ""])
        #expect(parser.lastEventID == "")
    }

    @Test("retry: with digits sets the event's and the parser's retry")
    func retryDigits() {
        var parser = ServerSentEventParser()
        let events = parser.feed("retry: 3000\ndata: a\n\ndata: b\n\n")
        #expect(events == [ServerSentEvent(data: "a", retry: 3000), ServerSentEvent(data: "b")])
        #expect(parser.retry == 3000)
    }

    @Test(
        "retry: with anything but ASCII digits is ignored",
        arguments: ["retry: 3a", "retry: -1", "retry: 1.5", "retry:  300", "retry:", "retry: +5", "retry: ٣"]
    )
    func retryNotDigits(_ line: String) {
        var parser = ServerSentEventParser()
        let events = parser.feed("retry: 1000\n\n\(line)\ndata: x\n\n")
        #expect(events == [ServerSentEvent(data: "x")])
        #expect(parser.retry == 1000)
    }

    @Test("retry: too large for Int is ignored")
    func retryOverflow() {
        var parser = ServerSentEventParser()
        #expect(parser.feed("retry: 99999999999999999999999\ndata: x\n\n") == [ServerSentEvent(data: "x")])
        #expect(parser.retry == nil)
    }
}

@Suite("ServerSentEventParser: bytes")
struct ServerSentEventParserByteTests {
    @Test("A BOM at the start of the stream is dropped")
    func bomAtStart() {
        var parser = ServerSentEventParser()
        let events = parser.parse([0xEF, 0xBB, 0xBF] + Array("data: x\n\n".utf8))
        #expect(events == [ServerSentEvent(data: "x")])
    }

    @Test("A BOM split across chunks at the start of the stream is dropped")
    func bomSplit() {
        let bytes: [UInt8] = [0xEF, 0xBB, 0xBF] + Array("event: a\ndata: x\n\n".utf8)
        for split in 1..<4 {
            let result = parseEvents(chunks: [Array(bytes[..<split]), Array(bytes[split...])])
            #expect(result.events == [ServerSentEvent(event: "a", data: "x")], "split at \(split)")
        }
    }

    @Test("A BOM later in the stream is not dropped")
    func bomLater() {
        // The second block's field name is "\u{FEFF}data", an unknown field.
        #expect(parseEvents("data: a\n\n\u{FEFF}data: b\n\n") == [ServerSentEvent(data: "a")])
    }

    @Test("A UTF-8 multi-byte character split across chunks is decoded intact")
    func utf8Split() {
        let text = "event: température/°C\ndata: {\"data\":\"25 °C 😀 日本\"}\n\n"
        let bytes = Array(text.utf8)
        let expected = [ServerSentEvent(event: "température/°C", data: "{\"data\":\"25 °C 😀 日本\"}")]
        for split in 0...bytes.count {
            let result = parseEvents(chunks: [Array(bytes[..<split]), Array(bytes[split...])])
            #expect(result.events == expected, "split at \(split)")
        }
    }

    @Test("The callback and non-contiguous inputs give the same events")
    func callbackAndNonContiguous() {
        let bytes = Array("id: 9\nevent: a\ndata: 1\n\n:c\ndata: 2\r\n\r\n".utf8)
        var arrayParser = ServerSentEventParser()
        let fromArray = arrayParser.parse(bytes)

        var callbackParser = ServerSentEventParser()
        var fromCallback: [ServerSentEvent] = []
        callbackParser.parse(bytes) { fromCallback.append($0) }

        var lazyParser = ServerSentEventParser()
        let fromLazy = lazyParser.parse(bytes.lazy.map { $0 })

        #expect(fromArray == [ServerSentEvent(event: "a", data: "1", id: "9"), ServerSentEvent(data: "2", id: "9")])
        #expect(fromCallback == fromArray)
        #expect(fromLazy == fromArray)
        #expect(lazyParser.commentCount == 1)
    }

    @Test("reset() drops a partial block and keeps lastEventID")
    func reset() {
        var parser = ServerSentEventParser()
        #expect(parser.feed("id: 5\ndata: a\n\nevent: partial\ndata: lost") == [ServerSentEvent(data: "a", id: "5")])
        parser.reset()
        let events = parser.parse([0xEF, 0xBB, 0xBF] + Array("data: new\n\n".utf8))
        #expect(events == [ServerSentEvent(data: "new", id: "5")])
        #expect(parser.lastEventID == "5")
    }
}
