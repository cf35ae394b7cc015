import ServerSentEvents

extension ServerSentEventParser {
    /// Feeds the UTF-8 bytes of `text` and returns the events completed.
    mutating func feed(_ text: String) -> [ServerSentEvent] {
        parse(Array(text.utf8))
    }
}

/// Parses `text` in one chunk with a fresh parser.
func parseEvents(_ text: String) -> [ServerSentEvent] {
    var parser = ServerSentEventParser()
    return parser.feed(text)
}

/// Parses `chunks` in order with one fresh parser and returns every event and the final parser.
func parseEvents(chunks: [[UInt8]]) -> (events: [ServerSentEvent], parser: ServerSentEventParser) {
    var parser = ServerSentEventParser()
    var events: [ServerSentEvent] = []
    for chunk in chunks {
        events += parser.parse(chunk)
    }
    return (events, parser)
}
