import CoAP
import DeviceProtocol
import NIOCore
import NIOPosix

/// A device-port client that sends whatever a test tells it to, well-formed or not, and
/// reports what the server does: the bytes it sends and whether it closes the connection.
///
/// One task at a time; reads have deadlines, so a test never waits on a server that stays
/// silent.
final class RawDeviceClient {
    private enum Item: Sendable {
        case bytes(ByteBuffer)
        case closed
        case deadline(Int)
    }

    /// Forwards what arrives, and the end of the connection, to the client's stream.
    private final class Forwarder: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let continuation: AsyncStream<Item>.Continuation

        init(continuation: AsyncStream<Item>.Continuation) {
            self.continuation = continuation
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            continuation.yield(.bytes(unwrapInboundIn(data)))
        }

        func channelInactive(context: ChannelHandlerContext) {
            continuation.yield(.closed)
            continuation.finish()
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            context.close(promise: nil)
        }
    }

    enum Failure: Error, CustomStringConvertible {
        case closed
        case timedOut(String)

        var description: String {
            switch self {
            case .closed: "the server closed the connection"
            case .timedOut(let what): "timed out waiting for \(what)"
            }
        }
    }

    private let channel: any Channel
    private let continuation: AsyncStream<Item>.Continuation
    private var items: AsyncStream<Item>.Iterator
    private var buffer: [UInt8] = []
    private var received: [CoAPMessage] = []
    private var isClosed = false
    private var deadlines = 0
    /// The encrypted channel, once ``handshake(_:serverPublicKeyDER:)`` has completed.
    private(set) var secure: SecureChannel?
    /// The device's message IDs, once the handshake has completed.
    private(set) var messageIDs = MessageIDCounter(current: 0)

    private init(channel: any Channel, items: AsyncStream<Item>, continuation: AsyncStream<Item>.Continuation) {
        self.channel = channel
        self.items = items.makeAsyncIterator()
        self.continuation = continuation
    }

    /// Connects to the gateway on 127.0.0.1.
    static func connect(port: Int) async throws -> RawDeviceClient {
        let (stream, continuation) = AsyncStream.makeStream(of: Item.self)
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(Forwarder(continuation: continuation))
                }
            }
            .connect(host: "127.0.0.1", port: port)
            .get()
        return RawDeviceClient(channel: channel, items: stream, continuation: continuation)
    }

    /// Writes raw bytes; a write to a connection the server has closed is not an error here.
    func write(_ bytes: [UInt8]) async {
        try? await channel.writeAndFlush(ByteBuffer(bytes: bytes)).get()
    }

    /// Reads exactly `count` bytes.
    func read(_ count: Int, timeout: TimeAmount = .seconds(10)) async throws -> [UInt8] {
        while buffer.count < count {
            guard let bytes = try await next(timeout: timeout, waitingFor: "\(count) bytes") else {
                throw Failure.closed
            }
            buffer += bytes
        }
        defer { buffer.removeFirst(count) }
        return Array(buffer.prefix(count))
    }

    /// Reads and discards until the server closes the connection; `false` if it is still
    /// open after `timeout`.
    func closedByServer(within timeout: TimeAmount = .seconds(10)) async -> Bool {
        while !isClosed {
            do {
                guard try await next(timeout: timeout, waitingFor: "the close") != nil else { return true }
            } catch {
                return false
            }
        }
        return true
    }

    /// The device side of the handshake: answers the nonce with `handshake`'s block, checks
    /// the server's reply, and switches to the encrypted channel.
    func handshake(_ handshake: DeviceHandshake) async throws {
        let nonce = try await read(ServerHandshake.nonceSize)
        await write(try handshake.answer(nonce: nonce))
        let keys = try handshake.accept(try await read(DeviceHandshake.replySize))
        secure = SecureChannel(keys: keys)
        messageIDs = keys.deviceMessageIDs
    }

    /// The next device message ID.
    func nextMessageID() -> UInt16 {
        messageIDs.next()
    }

    /// Seals a message as the next frame (the handshake must have completed).
    func frame(_ message: CoAPMessage) throws -> [UInt8] {
        guard var channel = secure else { throw Failure.closed }
        let frame = try channel.seal(try message.encoded())
        secure = channel
        return frame
    }

    /// Seals and writes a message.
    func send(_ message: CoAPMessage) async throws {
        await write(try frame(message))
    }

    /// Reads frames until one decodes to a message matching `predicate`; messages before it
    /// are dropped, messages after it wait for the next call.
    func receive(
        timeout: TimeAmount = .seconds(10),
        until predicate: (CoAPMessage) -> Bool
    ) async throws -> CoAPMessage {
        guard var channel = secure else { throw Failure.closed }
        defer { secure = channel }
        var pending = buffer
        buffer = []
        while true {
            for bytes in try channel.receive(pending) {
                if let message = try? CoAPMessage(decoding: bytes) { received.append(message) }
            }
            while !received.isEmpty {
                let message = received.removeFirst()
                if predicate(message) { return message }
            }
            guard let bytes = try await next(timeout: timeout, waitingFor: "a message") else { throw Failure.closed }
            pending = bytes
        }
    }

    /// Closes the connection.
    func close() async {
        try? await channel.close()
    }

    private func next(timeout: TimeAmount, waitingFor what: String) async throws -> [UInt8]? {
        guard !isClosed else { return nil }
        deadlines += 1
        let mark = deadlines
        let continuation = self.continuation
        let scheduled = channel.eventLoop.scheduleTask(in: timeout) { continuation.yield(.deadline(mark)) }
        defer { scheduled.cancel() }
        while let item = await items.next() {
            switch item {
            case .bytes(let bytes): return Array(bytes.readableBytesView)
            case .closed:
                isClosed = true
                return nil
            case .deadline(let expired) where expired == mark: throw Failure.timedOut(what)
            case .deadline: continue
            }
        }
        isClosed = true
        return nil
    }
}
