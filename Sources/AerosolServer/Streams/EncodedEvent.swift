import AerosolModels
import NIOCore

/// A committed event as every stream writes it, encoded once: its SSE frame in the sandbox and,
/// for product events, the product format, each already framed as one HTTP/1.1 chunk. Every
/// stream that delivers it writes the same shared buffer: no copy, no allocation per stream.
struct EncodedEvent: Sendable {
    let event: Event
    /// The scopes whose streams may deliver it (the index keys to look up).
    let scopes: [EventFilter.Scope]
    /// The sandbox frame, as a chunk.
    let sandbox: ByteBuffer
    /// The product frame, as a chunk (product events only).
    let product: ByteBuffer?

    init(_ event: Event) {
        self.event = event
        self.scopes = EventFilter.Scope.scopes(of: event)
        self.sandbox = Self.chunk(EventFrame.encode(event, productFormat: false))
        self.product = event.productID == nil ? nil : Self.chunk(EventFrame.encode(event, productFormat: true))
    }

    /// The chunk a stream with `filter` writes.
    func chunk(productFormat: Bool) -> ByteBuffer {
        productFormat ? (product ?? sandbox) : sandbox
    }

    /// `payload` as one chunk of a chunked HTTP/1.1 body, as NIO's encoder frames it: the size in
    /// lower-case hex, CRLF, the bytes, CRLF.
    static func chunk(_ payload: ByteBuffer) -> ByteBuffer {
        var chunk = ByteBuffer()
        let size = String(payload.readableBytes, radix: 16)
        chunk.reserveCapacity(size.utf8.count + payload.readableBytes + 4)
        chunk.writeString(size)
        chunk.writeStaticString("\r\n")
        var payload = payload
        chunk.writeBuffer(&payload)
        chunk.writeStaticString("\r\n")
        return chunk
    }

    /// The chunk that ends a chunked body.
    static let lastChunk = ByteBuffer(string: "0\r\n\r\n")
}
