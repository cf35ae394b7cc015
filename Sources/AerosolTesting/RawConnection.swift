import NIOCore
import NIOPosix
import Synchronization

/// A TCP connection that sends text and records every byte the server writes, undecoded:
/// status line, headers, chunk sizes and all. For tests of what careless and hostile clients
/// send: half a request, a bogus `Content-Length`, a connection that closes before a byte.
public final class RawConnection: Sendable {
    private let channel: any Channel
    private let recorder: Recorder

    final class Recorder: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let received = Mutex<(bytes: [UInt8], closed: Bool)>(([], false))

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let buffer = unwrapInboundIn(data)
            received.withLock { $0.bytes += buffer.readableBytesView }
        }

        func channelInactive(context: ChannelHandlerContext) {
            received.withLock { $0.closed = true }
            context.fireChannelInactive()
        }

        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            if case ChannelEvent.inputClosed = event { received.withLock { $0.closed = true } }
            context.fireUserInboundEventTriggered(event)
        }
    }

    private init(channel: any Channel, recorder: Recorder) {
        self.channel = channel
        self.recorder = recorder
    }

    /// Connects to the server on 127.0.0.1; `receiveBuffer` sets `SO_RCVBUF` before connecting.
    public static func connect(port: Int, receiveBuffer: Int? = nil) async throws -> RawConnection {
        let recorder = Recorder()
        var bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(ChannelOptions.allowRemoteHalfClosure, value: true)
        if let receiveBuffer {
            bootstrap = bootstrap.channelOption(ChannelOptions.socketOption(.so_rcvbuf), value: .init(receiveBuffer))
        }
        let channel = try await bootstrap.channelInitializer { channel in
            channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(recorder) }
        }
        .connect(host: "127.0.0.1", port: port).get()
        return RawConnection(channel: channel, recorder: recorder)
    }

    /// A `GET` with `Host` and, if given, a bearer token, as curl would send it.
    public static func get(_ path: String, token: String?) -> String {
        var request = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        if let token { request += "Authorization: Bearer \(token)\r\n" }
        return request + "\r\n"
    }

    /// Sends `text` as it is.
    public func send(_ text: String) async throws {
        try await channel.writeAndFlush(ByteBuffer(string: text)).get()
    }

    /// Sends `bytes` as they are (for bytes that are not UTF-8).
    public func send(bytes: [UInt8]) async throws {
        try await channel.writeAndFlush(ByteBuffer(bytes: bytes)).get()
    }

    /// Closes our sending side: the server sees the end of its input.
    public func finishSending() async throws {
        try await channel.close(mode: .output).get()
    }

    /// Everything received so far, as text.
    public var text: String { recorder.received.withLock { String(decoding: $0.bytes, as: UTF8.self) } }
    /// Whether the server closed the connection (or its side of it).
    public var closed: Bool { recorder.received.withLock { $0.closed } }

    /// Stops reading (the server's writes then fill the socket buffers).
    public func pauseReading() async throws {
        try await channel.setOption(ChannelOptions.autoRead, value: false).get()
    }

    /// Reads again.
    public func resumeReading() async throws {
        try await channel.setOption(ChannelOptions.autoRead, value: true).get()
        channel.read()
    }

    /// Waits until `condition` holds for the text received so far.
    @discardableResult
    public func read(until condition: (String) -> Bool, timeout: Duration = .seconds(10)) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        while true {
            let text = self.text
            if condition(text) { return text }
            guard ContinuousClock.now < deadline else { throw TestFailure("timed out; received:\n\(text)") }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    /// Waits until the server closes the connection; returns everything received.
    public func readToEnd(timeout: Duration = .seconds(10)) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        while !closed {
            guard ContinuousClock.now < deadline else { throw TestFailure("not closed; received:\n\(text)") }
            try await Task.sleep(for: .milliseconds(10))
        }
        return text
    }

    /// Closes the connection.
    public func close() async {
        try? await channel.close()
    }
}
