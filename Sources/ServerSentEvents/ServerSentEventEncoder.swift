/// Encodes events and comments in the `text/event-stream` wire format, with `\n` line ends.
///
/// It is the only SSE writer, and no field can end its line: a CR or LF in `event`, `id` or a
/// comment is replaced by a space, and multi-line data is split into one `data:` line per line
/// (so any string round-trips through a conforming parser). A publisher therefore cannot write
/// lines of its own (`id:`, `retry:`, a whole event) into a subscriber's stream.
///
/// Fields come in the order `event`, `data`, `id`, `retry`: the order of Aerosol's streams,
/// whose first two lines are those of Particle's (`event:` then `data:`).
public enum ServerSentEventEncoder {
    /// The bytes of one event block, ending with the blank line that dispatches it.
    public static func encode(_ event: ServerSentEvent) -> String {
        var out = ""
        out.reserveCapacity(event.data.utf8.count + (event.event?.utf8.count ?? 0) + 40)
        if let name = event.event {
            out += "event: "
            out += sanitized(name)
            out += "\n"
        }
        forEachLine(of: event.data) { line in
            out += "data: "
            out += line
            out += "\n"
        }
        if let id = event.id {
            out += "id: "
            out += sanitized(id)
            out += "\n"
        }
        if let retry = event.retry {
            out += "retry: \(retry)\n"
        }
        out += "\n"
        return out
    }

    /// A comment line (`:text\n`, one per line of `text`); parsers ignore it, so it serves as a
    /// keepalive.
    public static func comment(_ text: String) -> String {
        var out = ""
        forEachLine(of: text) { line in
            out += ":"
            out += line
            out += "\n"
        }
        return out
    }

    /// Calls `body` with each line of `text`, split on CRLF, CR and LF as the parser splits.
    static func forEachLine(of text: String, _ body: (Substring) -> Void) {
        let utf8 = text.utf8
        // Fast path: single-line JSON (every event's data) has no line end at all.
        guard utf8.contains(where: { $0 == 0x0A || $0 == 0x0D }) else {
            body(Substring(text))
            return
        }
        var start = utf8.startIndex
        var index = utf8.startIndex
        while index < utf8.endIndex {
            let byte = utf8[index]
            if byte == 0x0A || byte == 0x0D {
                body(Substring(text.utf8[start..<index]))
                var next = utf8.index(after: index)
                if byte == 0x0D, next < utf8.endIndex, utf8[next] == 0x0A { next = utf8.index(after: next) }
                index = next
                start = next
            } else {
                index = utf8.index(after: index)
            }
        }
        body(Substring(text.utf8[start..<utf8.endIndex]))
    }

    /// Splits on CRLF, CR and LF, as the parser would.
    static func lines(of text: String) -> [Substring] {
        var result: [Substring] = []
        forEachLine(of: text) { result.append($0) }
        return result
    }

    /// A field value must not contain a line end; replace any with a space.
    static func sanitized(_ value: String) -> String {
        guard value.utf8.contains(where: { $0 == 0x0A || $0 == 0x0D }) else { return value }
        return lines(of: value).joined(separator: " ")
    }
}
