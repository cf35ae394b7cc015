import ServerSentEvents
import Testing

/// A stream and the events, comment count and last event id it must produce however it is split.
struct ChunkingCase: Sendable, CustomTestStringConvertible {
    var name: String
    var bytes: [UInt8]
    var events: [ServerSentEvent]
    var commentCount: Int
    var lastEventID: String?

    var testDescription: String { name }
}

private let temperatureJSON =
    #"{"data":"25.34","ttl":60,"published_at":"2015-07-18T00:12:18.174Z","coreid":"0123456789abcdef01234567"}"#
private let humidityJSON =
    #"{"data":"48 %","ttl":60,"published_at":"2015-07-18T00:12:27.511Z","coreid":"0123456789abcdef01234567"}"#
private let statusJSON =
    #"{"data":"online","ttl":60,"published_at":"2015-07-18T00:12:40.002Z","coreid":"0123456789abcdef01234567"}"#

/// A captured Particle stream with bare-newline keepalives between events.
private let particleStream =
    ":ok\n\n"
    + "event: temperature\ndata: \(temperatureJSON)\n\n"
    + "\n"
    + "\n"
    + "event: humidity\ndata: \(humidityJSON)\n\n"
    + "\n"
    + "event: spark/status\ndata: \(statusJSON)\n\n"

private let particleEvents = [
    ServerSentEvent(event: "temperature", data: temperatureJSON),
    ServerSentEvent(event: "humidity", data: humidityJSON),
    ServerSentEvent(event: "spark/status", data: statusJSON),
]

/// The same events as Aerosol sends them: with `id:` lines, a `retry:`, a comment keepalive and
/// multi-line data.
private let aerosolStream =
    ":ok\n\n"
    + "retry: 2000\n\n"
    + "id: 41\nevent: temperature\ndata: \(temperatureJSON)\n\n"
    + ":\n"
    + "id: 42\nevent: humidity\ndata: \(humidityJSON)\n\n"
    + "event: notes\ndata: line one\ndata: line two\ndata: °C 😀\n\n"
    + "id: 43\nevent: spark/status\nretry: 5000\ndata: \(statusJSON)\n\n"

private let aerosolEvents = [
    ServerSentEvent(event: "temperature", data: temperatureJSON, id: "41"),
    ServerSentEvent(event: "humidity", data: humidityJSON, id: "42"),
    ServerSentEvent(event: "notes", data: "line one\nline two\n°C 😀", id: "42"),
    ServerSentEvent(event: "spark/status", data: statusJSON, id: "43", retry: 5000),
]

private func withLineEnding(_ text: String, _ end: String) -> [UInt8] {
    // Swift treats "\r\n" as one Character, but the stream above only contains bare "\n".
    Array(text.split(separator: "\n", omittingEmptySubsequences: false).joined(separator: end).utf8)
}

let chunkingCases: [ChunkingCase] = [
    ChunkingCase(
        name: "particle capture, LF",
        bytes: Array(particleStream.utf8),
        events: particleEvents,
        commentCount: 1,
        lastEventID: nil
    ),
    ChunkingCase(
        name: "particle capture, CRLF",
        bytes: withLineEnding(particleStream, "\r\n"),
        events: particleEvents,
        commentCount: 1,
        lastEventID: nil
    ),
    ChunkingCase(
        name: "particle capture, CR",
        bytes: withLineEnding(particleStream, "\r"),
        events: particleEvents,
        commentCount: 1,
        lastEventID: nil
    ),
    ChunkingCase(
        name: "with ids, LF",
        bytes: Array(aerosolStream.utf8),
        events: aerosolEvents,
        commentCount: 2,
        lastEventID: "43"
    ),
    ChunkingCase(
        name: "with ids, CRLF",
        bytes: withLineEnding(aerosolStream, "\r\n"),
        events: aerosolEvents,
        commentCount: 2,
        lastEventID: "43"
    ),
    ChunkingCase(
        name: "with ids, BOM and CRLF",
        bytes: [0xEF, 0xBB, 0xBF] + withLineEnding(aerosolStream, "\r\n"),
        events: aerosolEvents,
        commentCount: 2,
        lastEventID: "43"
    ),
]

@Suite("ServerSentEventParser: chunking")
struct ServerSentEventParserChunkingTests {
    @Test("One chunk gives the expected events", arguments: chunkingCases)
    func oneChunk(_ testCase: ChunkingCase) {
        let result = parseEvents(chunks: [testCase.bytes])
        #expect(result.events == testCase.events)
        #expect(result.parser.commentCount == testCase.commentCount)
        #expect(result.parser.lastEventID == testCase.lastEventID)
    }

    @Test("Split into two chunks at every byte position, the events are the same", arguments: chunkingCases)
    func everySplit(_ testCase: ChunkingCase) {
        var failures: [Int] = []
        for split in 0...testCase.bytes.count {
            let result = parseEvents(chunks: [Array(testCase.bytes[..<split]), Array(testCase.bytes[split...])])
            if result.events != testCase.events || result.parser.commentCount != testCase.commentCount
                || result.parser.lastEventID != testCase.lastEventID
            {
                failures.append(split)
            }
        }
        #expect(failures.isEmpty, "wrong result when split at byte offsets \(failures.prefix(20))")
    }

    @Test("Fed one byte at a time, the events are the same", arguments: chunkingCases)
    func oneByteAtATime(_ testCase: ChunkingCase) {
        let result = parseEvents(chunks: testCase.bytes.map { [$0] })
        #expect(result.events == testCase.events)
        #expect(result.parser.commentCount == testCase.commentCount)
        #expect(result.parser.lastEventID == testCase.lastEventID)
    }

    @Test("Events are returned by the chunk that completes them, not later", arguments: chunkingCases)
    func eventsReturnedPromptly(_ testCase: ChunkingCase) {
        var parser = ServerSentEventParser()
        var seen = 0
        var endOfBlocks: [Int] = []
        for (offset, byte) in testCase.bytes.enumerated() {
            let events = parser.parse([byte])
            #expect(events.count <= 1)
            if !events.isEmpty { endOfBlocks.append(offset) }
            seen += events.count
        }
        #expect(seen == testCase.events.count)
        // Every dispatch happens on a line-end byte.
        #expect(endOfBlocks.allSatisfy { testCase.bytes[$0] == 0x0A || testCase.bytes[$0] == 0x0D })
    }
}
