/// Encodes events and comments in the `text/event-stream` wire format, with `\n` line ends.
///
/// Multi-line data is split into one `data:` line per line, so any string round-trips
/// through a conforming parser.
public enum ServerSentEventEncoder {
    /// The bytes of one event block, ending with the blank line that dispatches it.
    public static func encode(_ event: ServerSentEvent) -> String {
        var out = ""
        out.reserveCapacity(event.data.utf8.count + 32)
        if let id = event.id {
            out += "id: \(sanitized(id))\n"
        }
        if let name = event.event {
            out += "event: \(sanitized(name))\n"
        }
        if let retry = event.retry {
            out += "retry: \(retry)\n"
        }
        for line in lines(of: event.data) {
            out += "data: "
            out += line
            out += "\n"
        }
        out += "\n"
        return out
    }

    /// A comment line (`:text\n`); parsers ignore it, so it serves as a keepalive.
    public static func comment(_ text: String) -> String {
        var out = ""
        for line in lines(of: text) {
            out += ":\(line)\n"
        }
        return out
    }

    /// Splits on CRLF, CR and LF, as the parser would.
    static func lines(of text: String) -> [Substring] {
        var result: [Substring] = []
        var start = text.startIndex
        var index = text.startIndex
        while index < text.endIndex {
            let character = text[index]
            // "\r\n" is one Character in Swift, so one check covers all three line ends.
            if character == "\n" || character == "\r" || character == "\r\n" {
                result.append(text[start..<index])
                index = text.index(after: index)
                start = index
            } else {
                index = text.index(after: index)
            }
        }
        result.append(text[start..<text.endIndex])
        return result
    }

    /// A field value must not contain a line end; replace any with a space.
    static func sanitized(_ value: String) -> String {
        guard value.contains(where: { $0 == "\n" || $0 == "\r" || $0 == "\r\n" }) else { return value }
        return lines(of: value).joined(separator: " ")
    }
}
