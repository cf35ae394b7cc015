import ServerSentEvents

extension FuzzTarget {
    private struct ParseResult: Equatable {
        var events: [ServerSentEvent] = []
        var lastEventID: String?
        var retry: Int?
        var comments = 0
    }

    private static func parse(_ input: [UInt8], chunks: [Int]) -> ParseResult {
        var parser = ServerSentEventParser()
        var result = ParseResult()
        var offset = 0
        for size in chunks {
            result.events += parser.parse(input[offset..<offset + size])
            offset += size
        }
        result.lastEventID = parser.lastEventID
        result.retry = parser.retry
        result.comments = parser.commentCount
        return result
    }

    /// A stream parsed whole, byte by byte or in random chunks (splitting CRLFs and UTF-8
    /// sequences) gives the same events, last id, retry and comment count. Every event it
    /// gives is sent again through ``ServerSentEventEncoder`` and must parse back unchanged, and
    /// no field of it holds a line end (data lines are joined with LF only). A parser with a
    /// small bound gives a prefix of those events and stops once the bound is passed.
    func checkServerSentEvents(_ input: [UInt8]) throws(PropertyViolation) -> Verdict {
        let whole = Self.parse(input, chunks: input.isEmpty ? [] : [input.count])
        let bytewise = Self.parse(input, chunks: Array(repeating: 1, count: input.count))
        var generator = SplitMix64(hashing: input)
        var chunks: [Int] = []
        var remaining = input.count
        while remaining > 0 {
            let size = min(remaining, 1 + generator.below(64))
            chunks.append(size)
            remaining -= size
        }
        let split = Self.parse(input, chunks: chunks)
        try self.require(whole == bytewise, "byte-by-byte parsing differs from whole")
        try self.require(whole == split, "parsing in chunks differs from whole")
        for event in whole.events {
            try self.require(!event.data.utf8.contains(0x0D), "data holds a CR")
            for field in [event.event, event.id].compactMap({ $0 }) {
                try self.require(!field.utf8.contains(where: { $0 == 0x0A || $0 == 0x0D }), "a field holds a line end")
            }
            try self.require(event.id?.utf8.contains(0) != true, "an id holds NUL")
            var parser = ServerSentEventParser()
            let again = parser.parse(Array(ServerSentEventEncoder.encode(event).utf8))
            try self.require(again == [event], "\(event) did not survive the encoder: \(again)")
        }
        // Bounded memory: with a small bound, the parser gives the same events until a line or
        // an event's data passes it, then nothing more; no event holds more than the bound.
        var bounded = ServerSentEventParser(maximumEventSize: 64)
        let boundedEvents = bounded.parse(input)
        try self.require(whole.events.starts(with: boundedEvents), "the bounded parser gave other events")
        try self.require(
            bounded.overflowed || boundedEvents.count == whole.events.count,
            "the bounded parser lost events without overflowing"
        )
        for event in boundedEvents {
            try self.require(
                event.data.utf8.count <= 64 * 3,
                "an event of \(event.data.utf8.count) bytes passed the bound"
            )
        }
        return whole.events.isEmpty ? .rejected : .accepted
    }
}
