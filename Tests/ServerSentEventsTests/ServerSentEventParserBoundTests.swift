import ServerSentEvents
import Testing

/// Found by fuzzing (bounded memory on adversarial input): a stream that never ends its line, or
/// an event of endless `data:` lines, grew the parser — and so the SDK's stream — without
/// bound. Now a line or an event's data over `maximumEventSize` sets `overflowed` and nothing
/// more is parsed until `reset()`; the SDK ends such a connection.
@Suite("ServerSentEventParser: bounded memory")
struct ServerSentEventParserBoundTests {
    @Test("An endless line stops at the bound")
    func endlessLine() {
        var parser = ServerSentEventParser(maximumEventSize: 1024)
        #expect(parser.feed("data: before\n\n") == [ServerSentEvent(data: "before")])
        var events: [ServerSentEvent] = []
        let chunk = [UInt8](repeating: UInt8(ascii: "x"), count: 4096)
        for _ in 0..<256 {  // 1 MiB without a line end
            events += parser.parse(chunk)
        }
        #expect(parser.overflowed)
        #expect(events.isEmpty)
        // Nothing after the overflow counts, not even a well-formed event.
        #expect(parser.feed("\n\ndata: after\n\n").isEmpty)
        parser.reset()
        #expect(!parser.overflowed)
        #expect(parser.feed("data: again\n\n") == [ServerSentEvent(data: "again")])
    }

    @Test("Endless data lines of one event stop at the bound")
    func endlessDataLines() {
        var parser = ServerSentEventParser(maximumEventSize: 1000)
        let line = Array("data: 0123456789012345678901234567890123456789\n".utf8)
        var events: [ServerSentEvent] = []
        for _ in 0..<1000 {
            events += parser.parse(line)
        }
        #expect(parser.overflowed)
        #expect(events.isEmpty)
    }

    @Test("Events up to the bound pass, and the default bound is far above any real event")
    func upToTheBound() {
        var parser = ServerSentEventParser(maximumEventSize: 100)
        let data = String(repeating: "d", count: 90)
        #expect(parser.feed("data: \(data)\n\n") == [ServerSentEvent(data: data)])
        #expect(!parser.overflowed)
        var standard = ServerSentEventParser()
        let big = String(repeating: "b", count: 200_000)
        #expect(standard.feed("data: \(big)\n\n") == [ServerSentEvent(data: big)])
        #expect(standard.maximumEventSize == ServerSentEventParser.defaultMaximumEventSize)
    }
}
