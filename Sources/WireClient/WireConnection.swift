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
    private let continuation: AsyncStream<Item>.Continuation
    private var parts: AsyncStream<Item>.Iterator
    private var timeouts = 0
    /// The port it is connected to.
    public let port: Int

    /// What the connection's stream carries: response parts, and the marks of read deadlines.
    enum Item: Sendable {
        case part(HTTPClientResponsePart)
        case deadline(Int)
    }

    private init(
        channel: any Channel,
        items: AsyncStream<Item>,
        continuation: AsyncStream<Item>.Continuation,
        port: Int
    ) {
        self.channel = channel
        self.parts = items.makeAsyncIterator()
        self.continuation = continuation
        self.port = port
    }

    /// Connects to `host:port`.
    public static func connect(host: String = "127.0.0.1", port: Int) async throws -> WireConnection {
        let (stream, continuation) = AsyncStream.makeStream(of: Item.self)
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
        return WireConnection(channel: channel, items: stream, continuation: continuation, port: port)
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

    /// Reads the next response head; throws ``WireError/timedOut`` after `timeout`.
    public func readHead(timeout: TimeAmount = .seconds(30)) async throws -> HTTPResponseHead {
        while let part = try await nextPart(timeout: timeout) {
            if case .head(let head) = part { return head }
        }
        throw WireError.closed
    }

    /// Reads the next chunk of body bytes; `nil` at the end of the response or connection.
    /// Throws ``WireError/timedOut`` if nothing arrives within `timeout`.
    public func readBody(timeout: TimeAmount = .seconds(30)) async throws -> ByteBuffer? {
        while let part = try await nextPart(timeout: timeout) {
            switch part {
            case .head: continue
            case .body(let buffer): return buffer
            case .end: return nil
            }
        }
        return nil
    }

    private func nextPart(timeout: TimeAmount) async throws -> HTTPClientResponsePart? {
        timeouts += 1
        let mark = timeouts
        let continuation = self.continuation
        let scheduled = channel.eventLoop.scheduleTask(in: timeout) { continuation.yield(.deadline(mark)) }
        defer { scheduled.cancel() }
        while let item = await parts.next() {
            switch item {
            case .part(let part): return part
            case .deadline(let expired) where expired == mark: throw WireError.timedOut
            case .deadline: continue
            }
        }
        return nil
    }

    /// Sends a request with a binary body (a multipart upload) and reads the whole response.
    public func request(
        _ method: HTTPMethod,
        _ path: String,
        headers: [(String, String)] = [],
        bytes: [UInt8]
    ) async throws -> WireResponse {
        var head = HTTPRequestHead(version: .http1_1, method: method, uri: path)
        head.headers.add(name: "Host", value: "127.0.0.1:\(port)")
        for (name, value) in headers { head.headers.add(name: name, value: value) }
        head.headers.add(name: "Content-Length", value: String(bytes.count))
        channel.write(HTTPClientRequestPart.head(head), promise: nil)
        channel.write(HTTPClientRequestPart.body(.byteBuffer(ByteBuffer(bytes: bytes))), promise: nil)
        try await channel.writeAndFlush(HTTPClientRequestPart.end(nil)).get()
        let response = try await readHead()
        var body = ByteBuffer()
        while var chunk = try await readBody() { body.writeBuffer(&chunk) }
        return WireResponse(head: response, body: body)
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
        while var chunk = try await readBody() { bytes.writeBuffer(&chunk) }
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
    /// Nothing arrived within the read's timeout.
    case timedOut
}

private final class PartForwarder: ChannelInboundHandler, Sendable {
    typealias InboundIn = HTTPClientResponsePart
    let continuation: AsyncStream<WireConnection.Item>.Continuation

    init(continuation: AsyncStream<WireConnection.Item>.Continuation) {
        self.continuation = continuation
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        continuation.yield(.part(unwrapInboundIn(data)))
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
