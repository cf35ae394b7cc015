import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// A small HTTP server on 127.0.0.1 that records every request exactly as it arrived (method,
/// target, headers in order with their spelling, body bytes) and answers as its responder says.
final class WebhookReceiver: Sendable {
    /// A request as received.
    struct Received: Sendable {
        var method: String
        var uri: String
        var headers: [(String, String)]
        var body: [UInt8]
        var at: ContinuousClock.Instant

        var text: String { String(decoding: body, as: UTF8.self) }

        func header(_ name: String) -> String? {
            headers.first { $0.0.lowercased() == name.lowercased() }?.1
        }
    }

    /// An answer.
    struct Reply: Sendable {
        var status: Int = 200
        var headers: [(String, String)] = []
        var body: String = ""
        /// How long to hold the answer (a slow receiver).
        var delay: Duration = .zero
    }

    /// Decides the answer to the `index`-th request (0-based).
    typealias Responder = @Sendable (_ request: Received, _ index: Int) -> Reply

    private struct State {
        var requests: [Received] = []
        var waiters: [(id: Int, count: Int, continuation: CheckedContinuation<Void, Never>)] = []
        var nextWaiter = 0
    }

    private let state = Mutex(State())
    private let responder: Mutex<Responder>
    private let channel: Mutex<(any Channel)?> = Mutex(nil)
    /// The port it listens on.
    let port: Int

    private init(port: Int, responder: @escaping Responder) {
        self.port = port
        self.responder = Mutex(responder)
    }

    /// Starts a receiver on 127.0.0.1 (`port` 0 picks a free one).
    static func start(port: Int = 0, responder: @escaping Responder = { _, _ in Reply() }) async throws
        -> WebhookReceiver
    {
        let box = Mutex<WebhookReceiver?>(nil)
        let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    guard let receiver = box.withLock({ $0 }) else { throw ChannelError.ioOnClosedChannel }
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(Handler(receiver: receiver))
                }
            }
        let channel = try await bootstrap.bind(host: "127.0.0.1", port: port).get()
        let receiver = WebhookReceiver(port: channel.localAddress?.port ?? port, responder: responder)
        receiver.channel.withLock { $0 = channel }
        box.withLock { $0 = receiver }
        return receiver
    }

    /// Runs `body` with a receiver, stopping it afterwards.
    static func with<T: Sendable>(
        port: Int = 0,
        responder: @escaping Responder = { _, _ in Reply() },
        _ body: (WebhookReceiver) async throws -> T
    ) async throws -> T {
        let receiver = try await start(port: port, responder: responder)
        do {
            let result = try await body(receiver)
            await receiver.stop()
            return result
        } catch {
            await receiver.stop()
            throw error
        }
    }

    /// Changes how it answers from now on.
    func respond(with responder: @escaping Responder) {
        self.responder.withLock { $0 = responder }
    }

    /// Every request so far.
    var requests: [Received] { state.withLock { $0.requests } }

    /// Waits until `count` requests have arrived (or fails after `timeout`) and returns them all.
    @discardableResult
    func waitFor(_ count: Int, timeout: Duration = .seconds(15)) async throws -> [Received] {
        try await withThrowingTaskGroup(of: Void.self) { group in
            let id = state.withLock { state -> Int in
                state.nextWaiter += 1
                return state.nextWaiter
            }
            group.addTask {
                await withTaskCancellationHandler {
                    await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                        let ready = self.state.withLock { state -> Bool in
                            if state.requests.count >= count || Task.isCancelled { return true }
                            state.waiters.append((id, count, continuation))
                            return false
                        }
                        if ready { continuation.resume() }
                    }
                } onCancel: {
                    let waiter = self.state.withLock { state -> CheckedContinuation<Void, Never>? in
                        guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                        return state.waiters.remove(at: index).continuation
                    }
                    waiter?.resume()
                }
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                throw ReceiverTimeout(expected: count, received: self.requests.count)
            }
            defer { group.cancelAll() }
            try await group.next()
            let received = requests
            guard received.count >= count else {
                throw ReceiverTimeout(expected: count, received: received.count)
            }
            return received
        }
    }

    /// Stops listening.
    func stop() async {
        let channel = self.channel.withLock { channel -> (any Channel)? in
            defer { channel = nil }
            return channel
        }
        try? await channel?.close()
    }

    fileprivate func record(_ request: Received) -> Reply {
        let (index, ready) = state.withLock { state -> (Int, [CheckedContinuation<Void, Never>]) in
            state.requests.append(request)
            let count = state.requests.count
            let ready = state.waiters.filter { $0.count <= count }.map(\.continuation)
            state.waiters.removeAll { $0.count <= count }
            return (count - 1, ready)
        }
        for waiter in ready { waiter.resume() }
        return responder.withLock { $0 }(request, index)
    }

    struct ReceiverTimeout: Error, CustomStringConvertible {
        var expected: Int
        var received: Int
        var description: String { "the receiver got \(received) of \(expected) requests in time" }
    }

    /// Collects one request at a time and answers it.
    private final class Handler: ChannelInboundHandler, RemovableChannelHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart

        let receiver: WebhookReceiver
        var head: HTTPRequestHead?
        var body: [UInt8] = []

        init(receiver: WebhookReceiver) {
            self.receiver = receiver
        }

        private static func write(_ parts: [HTTPServerResponsePart], to context: ChannelHandlerContext) {
            for part in parts { context.write(NIOAny(part), promise: nil) }
            context.flush()
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                self.head = head
                body = []
            case .body(let buffer):
                body.append(contentsOf: buffer.readableBytesView)
            case .end:
                guard let head else { return }
                let reply = receiver.record(
                    Received(
                        method: head.method.rawValue,
                        uri: head.uri,
                        headers: head.headers.map { ($0.name, $0.value) },
                        body: body,
                        at: .now
                    )
                )
                var headers = HTTPHeaders(reply.headers)
                headers.replaceOrAdd(name: "content-length", value: String(reply.body.utf8.count))
                let responseHead = HTTPResponseHead(
                    version: head.version,
                    status: HTTPResponseStatus(statusCode: reply.status),
                    headers: headers
                )
                self.head = nil
                let parts: [HTTPServerResponsePart] = [
                    .head(responseHead), .body(.byteBuffer(ByteBuffer(string: reply.body))), .end(nil),
                ]
                guard reply.delay > .zero else { return Self.write(parts, to: context) }
                let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
                let (seconds, attoseconds) = reply.delay.components
                context.eventLoop.scheduleTask(in: .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000))
                {
                    Self.write(parts, to: bound.value)
                }
            }
        }
    }
}
