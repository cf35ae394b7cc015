/// An incremental `text/event-stream` parser.
///
/// Feed it bytes as they arrive, split anywhere (even inside a CRLF or a UTF-8 sequence);
/// it returns the events completed by each chunk. Lines may end in CR, LF or CRLF; comment
/// lines, unknown fields and lines without a value are handled as the HTML standard says.
/// The parser is a value type with no I/O, so it can be tested byte by byte.
///
/// Memory is bounded: a line, or the data one event gathers over several lines, longer than
/// ``maximumEventSize`` sets ``overflowed`` and the parser ignores the rest of the stream until
/// ``reset()`` (a reader should then end the connection: no honest server sends such a stream).
public struct ServerSentEventParser: Sendable {
    /// The last event id seen (`id:` persists until changed); send it as `Last-Event-ID`.
    public private(set) var lastEventID: String?
    /// The most recent `retry:` value (milliseconds), if the server sent one.
    public private(set) var retry: Int?
    /// How many comment lines (keepalives included) have been read.
    public private(set) var commentCount = 0
    /// The most bytes one line, or the data of one event, may hold.
    public let maximumEventSize: Int
    /// Whether a line or an event's data grew past ``maximumEventSize``; the parser then ignores
    /// everything until ``reset()``.
    public private(set) var overflowed = false

    private var line: [UInt8] = []
    private var lastByteWasCR = false
    private var atStreamStart = true
    private var eventType: String?
    private var data: [UInt8] = []
    private var hasData = false
    private var blockRetry: Int?

    /// The default ``maximumEventSize``: 1 MiB, far above any event of Aerosol or Particle
    /// (16 KiB of data, escaped as JSON).
    public static let defaultMaximumEventSize = 1 << 20

    /// A parser at the start of a stream, holding at most `maximumEventSize` bytes of one line
    /// or one event's data.
    public init(maximumEventSize: Int = Self.defaultMaximumEventSize) {
        self.maximumEventSize = maximumEventSize
        line.reserveCapacity(256)
        data.reserveCapacity(256)
    }

    /// Parses a chunk and returns the events it completed, in order.
    public mutating func parse(_ bytes: some Sequence<UInt8>) -> [ServerSentEvent] {
        var events: [ServerSentEvent] = []
        parse(bytes) { events.append($0) }
        return events
    }

    /// Parses a chunk, calling `onEvent` for each event it completes (no array allocated).
    public mutating func parse(_ bytes: some Sequence<UInt8>, onEvent: (ServerSentEvent) -> Void) {
        let handled: Void? = bytes.withContiguousStorageIfAvailable { buffer in
            for byte in buffer { consume(byte, onEvent) }
        }
        if handled == nil {
            for byte in bytes { consume(byte, onEvent) }
        }
    }

    /// Resets the per-connection state for a new connection, keeping `lastEventID`.
    public mutating func reset() {
        overflowed = false
        line.removeAll(keepingCapacity: true)
        lastByteWasCR = false
        atStreamStart = true
        eventType = nil
        data.removeAll(keepingCapacity: true)
        hasData = false
        blockRetry = nil
    }

    @inline(__always)
    private mutating func consume(_ byte: UInt8, _ onEvent: (ServerSentEvent) -> Void) {
        if overflowed { return }
        switch byte {
        case UInt8(ascii: "\n"):
            if lastByteWasCR {
                // The LF of a CRLF: the line already ended at the CR.
                lastByteWasCR = false
                return
            }
            endLine(onEvent)
        case UInt8(ascii: "\r"):
            lastByteWasCR = true
            endLine(onEvent)
        default:
            lastByteWasCR = false
            guard line.count < maximumEventSize else {
                overflow()
                return
            }
            line.append(byte)
        }
    }

    private mutating func overflow() {
        overflowed = true
        line = []
        data = []
        hasData = false
        eventType = nil
        blockRetry = nil
    }

    private mutating func endLine(_ onEvent: (ServerSentEvent) -> Void) {
        defer { line.removeAll(keepingCapacity: true) }
        if atStreamStart {
            atStreamStart = false
            // A UTF-8 byte order mark at the very start of the stream is dropped.
            if line.starts(with: [0xEF, 0xBB, 0xBF]) { line.removeFirst(3) }
        }
        if line.isEmpty {
            dispatch(onEvent)
            return
        }
        if line[0] == UInt8(ascii: ":") {
            commentCount += 1
            return
        }
        let colon = line.firstIndex(of: UInt8(ascii: ":"))
        let nameEnd = colon ?? line.endIndex
        var valueStart = colon.map { $0 + 1 } ?? line.endIndex
        if valueStart < line.endIndex, line[valueStart] == UInt8(ascii: " ") { valueStart += 1 }
        let name = line[0..<nameEnd]
        let value = line[valueStart..<line.endIndex]
        if name.elementsEqual("data".utf8) {
            guard data.count + value.count < maximumEventSize else {
                overflow()
                return
            }
            if hasData { data.append(UInt8(ascii: "\n")) }
            data.append(contentsOf: value)
            hasData = true
        } else if name.elementsEqual("event".utf8) {
            eventType = String(decoding: value, as: UTF8.self)
        } else if name.elementsEqual("id".utf8) {
            // An id containing NUL is ignored, as the standard says.
            if !value.contains(0) { lastEventID = String(decoding: value, as: UTF8.self) }
        } else if name.elementsEqual("retry".utf8) {
            if !value.isEmpty, value.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
                let parsed = Int(String(decoding: value, as: UTF8.self))
            {
                retry = parsed
                blockRetry = parsed
            }
        }
    }

    private mutating func dispatch(_ onEvent: (ServerSentEvent) -> Void) {
        defer {
            eventType = nil
            data.removeAll(keepingCapacity: true)
            hasData = false
            blockRetry = nil
        }
        guard hasData else { return }
        onEvent(
            ServerSentEvent(
                event: eventType.flatMap { $0.isEmpty ? nil : $0 },
                data: String(decoding: data, as: UTF8.self),
                id: lastEventID,
                retry: blockRetry
            )
        )
    }
}
