import NIOCore
import NIOHTTP1
import NIOPosix

/// A plain HTTP/1.1 client connection that exposes what crossed the wire: the status line's
/// code, every header as sent, and the body bytes exactly as the server wrote them (after
/// de-chunking). Tests and benchmarks use it to check bytes rather than decoded structs.
///
/// One request at a time; not shared between tasks.
public final class WireConnection {
    private let channel: any Channel
    private var parts: AsyncStream<HTTPClientResponsePart>.Iterator
    /// The port it is connected to.
    public let port: Int

    private init(channel: any Channel, parts: AsyncStream<HTTPClientResponsePart>, port: Int) {
        self.channel = channel
        self.parts = parts.makeAsyncIterator()
        self.port = port
    }

    /// Connects to `host:port`.
    public static func connect(host: String = "127.0.0.1", port: Int) async throws -> WireConnection {
        let (stream, continuation) = AsyncStream.makeStream(of: HTTPClientResponsePart.self)
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(PartForwarder(continuation: continuation))
                }
            }
            .connect(host: host, port: port)
            .get()
        return WireConnection(channel: channel, parts: stream, port: port)
    }

    /// Sends a request; `headers` are sent as given (add `Content-Type` yourself).
    public func send(
        _ method: HTTPMethod,
        _ path: String,
        headers: [(String, String)] = [],
        body: String? = nil
    ) async throws {
        var head = HTTPRequestHead(version: .http1_1, method: method, uri: path)
        head.headers.add(name: "Host", value: "127.0.0.1:\(port)")
        for (name, value) in headers { head.headers.add(name: name, value: value) }
        if let body {
            head.headers.add(name: "Content-Length", value: String(body.utf8.count))
        } else if method == .POST || method == .PUT {
            head.headers.add(name: "Content-Length", value: "0")
        }
        channel.write(HTTPClientRequestPart.head(head), promise: nil)
        if let body { channel.write(HTTPClientRequestPart.body(.byteBuffer(ByteBuffer(string: body))), promise: nil) }
        try await channel.writeAndFlush(HTTPClientRequestPart.end(nil)).get()
    }

    /// Reads the next response head.
    public func readHead() async throws -> HTTPResponseHead {
        while let part = await parts.next() {
            if case .head(let head) = part { return head }
        }
        throw WireError.closed
    }

    /// Reads the next chunk of body bytes; `nil` at the end of the response or connection.
    public func readBody() async -> ByteBuffer? {
        while let part = await parts.next() {
            switch part {
            case .head: continue
            case .body(let buffer): return buffer
            case .end: return nil
            }
        }
        return nil
    }

    /// Sends a request and reads the whole response.
    public func request(
        _ method: HTTPMethod,
        _ path: String,
        headers: [(String, String)] = [],
        body: String? = nil
    ) async throws -> WireResponse {
        try await send(method, path, headers: headers, body: body)
        let head = try await readHead()
        var bytes = ByteBuffer()
        while var chunk = await readBody() { bytes.writeBuffer(&chunk) }
        return WireResponse(head: head, body: bytes)
    }

    /// Closes the connection.
    public func close() async {
        try? await channel.close()
    }
}

/// A whole response as received.
public struct WireResponse: Sendable {
    /// The status line and headers.
    public let head: HTTPResponseHead
    /// The body bytes.
    public let body: ByteBuffer

    /// The status code.
    public var status: Int { Int(head.status.code) }
    /// The body as UTF-8 text.
    public var text: String { String(buffer: body) }
    /// The first value of a header (case-insensitive name).
    public func header(_ name: String) -> String? { head.headers.first(name: name) }
}

/// Errors of ``WireConnection``.
public enum WireError: Error {
    /// The server closed the connection before a response head arrived.
    case closed
}

private final class PartForwarder: ChannelInboundHandler, Sendable {
    typealias InboundIn = HTTPClientResponsePart
    let continuation: AsyncStream<HTTPClientResponsePart>.Continuation

    init(continuation: AsyncStream<HTTPClientResponsePart>.Continuation) {
        self.continuation = continuation
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        continuation.yield(unwrapInboundIn(data))
    }

    func channelInactive(context: ChannelHandlerContext) {
        continuation.finish()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        continuation.finish()
        context.close(promise: nil)
    }
}
