import AerosolModels
import NIOCore
import ServerSentEvents

/// The bytes of the event streams: `:ok` first, then per event an `event:` line,
/// one `data:` line of single-line JSON and, beyond the original, an `id:` line, each with one
/// space after the colon and `\n` line ends.
enum EventFrame {
    /// The opening comment, `:ok` and a blank line.
    static let opening = ByteBuffer(string: ":ok\n\n")
    /// The keepalive comment written after a silence.
    static let keepalive = ByteBuffer(string: ":keepalive\n")

    /// One event: `event: <name>\ndata: <json>\nid: <id>\n\n`, through the one SSE encoder, so
    /// that no name can break its line (names are checked before they reach the log too).
    static func encode(_ event: Event, productFormat: Bool) -> ByteBuffer {
        let json = productFormat ? event.productJSON : event.sandboxJSON
        return ByteBuffer(
            string: ServerSentEventEncoder.encode(ServerSentEvent(event: event.name, data: json, id: String(event.id)))
        )
    }

    /// A comment saying why the server ended the stream, written just before it closes.
    static func closing(_ reason: String) -> ByteBuffer {
        ByteBuffer(string: ":closed \(reason)\n")
    }
}
