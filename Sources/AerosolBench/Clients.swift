import NIOCore
import NIOPosix

/// Opens and closes the benchmark's client connections to the server on 127.0.0.1, on the
/// shared event loop group; each connection counts into ``StatsBoard``.
struct Clients: Sendable {
    /// The server's port.
    let port: Int
    /// The token the clients authorise with.
    let token: String
    /// Where the connections count.
    let board: StatsBoard
    /// The loops the connections run on.
    let group: any EventLoopGroup

    private static let connectTimeout = TimeAmount.seconds(10)
    private static let readyTimeout = TimeAmount.seconds(20)

    init(port: Int, token: String, board: StatsBoard, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton)
    {
        self.port = port
        self.token = token
        self.board = board
        self.group = group
    }

    /// Opens `count` event streams on `path`, at most `concurrency` connecting at a time (so the
    /// listen backlog is not overrun), and returns once every one has received `:ok`. If any
    /// fails, closes those opened and throws the first failure.
    func openStreams(path: String, count: Int, recordsLatency: Bool, concurrency: Int = 128) async throws
        -> [any Channel]
    {
        try await openStreams(
            request: RequestBytes.stream(path: path, token: token, port: port),
            count: count,
            recordsLatency: recordsLatency,
            concurrency: concurrency
        )
    }

    /// Opens `count` event streams with the raw `request` (any SSE server), as above.
    func openStreams(request: ByteBuffer, count: Int, recordsLatency: Bool, concurrency: Int = 128) async throws
        -> [any Channel]
    {
        var channels: [any Channel] = []
        channels.reserveCapacity(count)
        var failure: (any Error)?
        await withTaskGroup(of: Result<any Channel, any Error>.self) { tasks in
            var started = 0
            func startNext() {
                started += 1
                tasks.addTask {
                    do {
                        return .success(try await openStream(request: request, recordsLatency: recordsLatency))
                    } catch {
                        return .failure(error)
                    }
                }
            }
            while started < min(max(1, concurrency), count) { startNext() }
            while let result = await tasks.next() {
                switch result {
                case .success(let channel):
                    channels.append(channel)
                    if failure == nil, started < count { startNext() }
                case .failure(let error):
                    if failure == nil { failure = error }
                }
            }
        }
        if let failure {
            await Self.close(channels)
            throw BenchError("\(channels.count) of \(count) streams opened; then: \(failure)")
        }
        return channels
    }

    private func openStream(request: ByteBuffer, recordsLatency: Bool) async throws -> any Channel {
        let loop = group.next()
        let ready = loop.makePromise(of: Void.self)
        let board = board
        let channel = try await connect(on: loop, failing: ready) { channel in
            StreamHandler(
                request: request,
                counters: board.counters(on: channel.eventLoop),
                ready: ready,
                readyTimeout: Self.readyTimeout,
                recordsLatency: recordsLatency
            )
        }
        try await ready.futureResult.get()
        return channel
    }

    /// Opens `count` publishers that publish `request` back to back until `stopAt`; returns the
    /// channels and a future per publisher that succeeds when it stops.
    func openPublishers(count: Int, request: ByteBuffer, stopAt: NIODeadline) async throws
        -> (channels: [any Channel], done: [EventLoopFuture<Void>])
    {
        var channels: [any Channel] = []
        var done: [EventLoopFuture<Void>] = []
        let board = board
        do {
            for _ in 0..<count {
                let loop = group.next()
                let finished = loop.makePromise(of: Void.self)
                let channel = try await connect(on: loop, failing: finished) { channel in
                    PublishHandler(
                        request: request,
                        counters: board.counters(on: channel.eventLoop),
                        stopAt: stopAt,
                        done: finished
                    )
                }
                channels.append(channel)
                done.append(finished.futureResult)
            }
        } catch {
            await Self.close(channels)
            throw error
        }
        return (channels, done)
    }

    /// Opens one publisher that follows `plan` (a fixed rate, each event carrying its send
    /// time); the future succeeds when all its publishes are answered.
    func openPacedPublisher(_ plan: PacedPublishHandler.Plan) async throws
        -> (channel: any Channel, done: EventLoopFuture<Void>)
    {
        let loop = group.next()
        let finished = loop.makePromise(of: Void.self)
        let board = board
        let channel = try await connect(on: loop, failing: finished) { channel in
            PacedPublishHandler(plan: plan, counters: board.counters(on: channel.eventLoop), done: finished)
        }
        return (channel, finished.futureResult)
    }

    /// Waits for `futures` until `deadline`; returns whether all completed in time.
    static func wait(for futures: [EventLoopFuture<Void>], until deadline: NIODeadline) async -> Bool {
        guard let loop = futures.first?.eventLoop else { return true }
        let outcome = loop.makePromise(of: Bool.self)
        // Whichever comes first completes `outcome`; NIO ignores the second completion.
        EventLoopFuture.andAllComplete(futures, on: loop).whenComplete { _ in outcome.succeed(true) }
        let timer = loop.scheduleTask(deadline: deadline) { outcome.succeed(false) }
        let finished = (try? await outcome.futureResult.get()) ?? false
        timer.cancel()
        return finished
    }

    /// Closes `channels` and waits until they are closed.
    static func close(_ channels: [any Channel]) async {
        guard let loop = channels.first?.eventLoop else { return }
        for channel in channels { channel.close(promise: nil) }
        try? await EventLoopFuture.andAllComplete(channels.map(\.closeFuture), on: loop).get()
    }

    /// Connects on `loop` with `handler` as the only handler; if the connection fails, fails
    /// `promise` too (the handler that would have completed it never runs).
    private func connect(
        on loop: any EventLoop,
        failing promise: EventLoopPromise<Void>,
        handler: @escaping @Sendable (any Channel) -> some ChannelHandler
    ) async throws -> any Channel {
        do {
            return try await bootstrap(on: loop, handler: handler).connect(host: "127.0.0.1", port: port).get()
        } catch {
            promise.fail(error)
            throw error
        }
    }

    private func bootstrap(
        on loop: any EventLoop,
        handler: @escaping @Sendable (any Channel) -> some ChannelHandler
    ) -> ClientBootstrap {
        ClientBootstrap(group: loop)
            .connectTimeout(Self.connectTimeout)
            .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(handler(channel))
                }
            }
    }
}
