#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Counts Server-Sent Event frames in the raw bytes of an event-stream response, cheaply
/// enough to follow thousands of streams from one process.
///
/// It checks the status line, skips the head, and then counts blank lines (`\n\n`) in the body:
/// the first is the end of the `:ok` preamble, each later one ends an event frame. Chunked
/// transfer encoding does not disturb the count: chunk framing is `\r\n`-delimited, and no chunk
/// the server writes begins with `\n`. Optionally it also reads the value of each
/// `{"data":"<digits>"` (the send time the latency benchmark publishes).
///
/// A value-type state machine: feed it bytes in any split.
struct FrameScanner {
    /// What a call to ``scan(_:)`` found.
    struct Found {
        /// The head has ended with a status other than 200.
        var refused = false
        /// The `:ok` preamble ended in these bytes.
        var ready = false
        /// Complete event frames.
        var frames = 0
        /// Body bytes.
        var bodyBytes = 0
    }

    private enum Phase {
        case statusLine
        case head
        case body
        case refused
    }

    private static let dataPrefix = Array(#"{"data":""#.utf8)

    private var phase = Phase.statusLine
    private var statusLine: [UInt8] = []
    private var headTail: UInt32 = 0
    private var pendingNewline = false
    private var sawPreamble = false
    private let readsData: Bool
    private var dataMatch = 0
    private var dataValue: UInt64?
    private var dataDigits = 0

    /// A scanner; with `readsData`, ``scan(_:onData:)`` reports the numeric event data values.
    init(readsData: Bool) {
        self.readsData = readsData
    }

    /// Consumes `bytes`; `onData` gets each numeric `data` value (only when reading data).
    mutating func scan(_ bytes: UnsafeRawBufferPointer, onData: (UInt64) -> Void = { _ in }) -> Found {
        var found = Found()
        var index = 0
        while index < bytes.count, phase != .body {
            let byte = bytes[index]
            index += 1
            switch phase {
            case .statusLine:
                if byte == 0x0A {
                    // "HTTP/1.1 200 OK\r"
                    let ok =
                        statusLine.count >= 12 && statusLine[9] == 0x32 && statusLine[10] == 0x30
                        && statusLine[11] == 0x30
                    if !ok {
                        phase = .refused
                        found.refused = true
                        return found
                    }
                    phase = .head
                    headTail = 0x0D0A
                } else if statusLine.count < 64 {
                    statusLine.append(byte)
                }
            case .head:
                headTail = (headTail << 8) | UInt32(byte)
                if headTail == 0x0D0A_0D0A { phase = .body }
            case .body, .refused:
                break
            }
        }
        guard phase == .body, index < bytes.count else { return found }
        let body = UnsafeRawBufferPointer(rebasing: bytes[index...])
        found.bodyBytes = body.count
        var blankLines = countBlankLines(body)
        if blankLines > 0, !sawPreamble {
            sawPreamble = true
            found.ready = true
            blankLines -= 1
        }
        found.frames = blankLines
        if readsData { readData(body, onData: onData) }
        return found
    }

    private mutating func countBlankLines(_ body: UnsafeRawBufferPointer) -> Int {
        guard let base = body.baseAddress, body.count > 0 else { return 0 }
        var count = 0
        var pending = pendingNewline
        var index = 0
        while index < body.count {
            guard let hit = memchr(base + index, 0x0A, body.count - index) else {
                pending = false
                break
            }
            let position = base.distance(to: UnsafeRawPointer(hit))
            if position == index && pending {
                count += 1
                pending = false
            } else {
                pending = true
            }
            index = position + 1
        }
        pendingNewline = pending
        return count
    }

    private mutating func readData(_ body: UnsafeRawBufferPointer, onData: (UInt64) -> Void) {
        let prefix = Self.dataPrefix
        for byte in body {
            if let value = dataValue {
                if byte >= 0x30 && byte <= 0x39 {
                    dataValue = value &* 10 &+ UInt64(byte - 0x30)
                    dataDigits += 1
                    continue
                }
                dataValue = nil
                if byte == 0x22 && dataDigits > 0 { onData(value) }
                dataMatch = 0
            }
            if byte == prefix[dataMatch] {
                dataMatch += 1
                if dataMatch == prefix.count {
                    dataMatch = 0
                    dataValue = 0
                    dataDigits = 0
                }
            } else {
                dataMatch = byte == prefix[0] ? 1 : 0
            }
        }
    }
}
