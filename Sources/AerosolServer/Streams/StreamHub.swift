import AerosolModels
import AerosolStore
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// Every event stream of the server, by event loop: the consumer of committed events that
/// feeds them (``EventConsumer``). A batch is encoded once (``EncodedEvent``) and handed to each
/// event loop's ``LoopStreams`` once, whatever the number of streams.
///
/// As a service, it ends every stream with `:closed shutdown` on graceful shutdown.
final class StreamHub: EventConsumer, Service {
    let limits: StreamLimits
    private let clock: any CloudClock
    private let logger: Logger
    /// Deliveries, replays and ended streams, for the metrics.
    let metrics = StreamMetrics()
    private let loops = Mutex<[ObjectIdentifier: LoopStreams]>([:])
    private let everyLoop = Mutex<[LoopStreams]>([])
    private let streams = Atomic<Int>(0)
    private let shuttingDown = Atomic<Bool>(false)
    /// Told when a loop's backlog went down (the event log may be waiting for capacity).
    private let drained: @Sendable () -> Void

    init(limits: StreamLimits, clock: any CloudClock, logger: Logger, drained: @escaping @Sendable () -> Void) {
        self.limits = limits
        self.clock = clock
        self.logger = logger
        self.drained = drained
    }

    /// How many streams are open.
    var count: Int { streams.load(ordering: .relaxed) }

    /// Whether the server is shutting down (a stream opened now ends at once).
    var isShuttingDown: Bool { shuttingDown.load(ordering: .relaxed) }

    /// The streams of `eventLoop`, created on first use.
    func streams(on eventLoop: any EventLoop) -> LoopStreams {
        let key = ObjectIdentifier(eventLoop)
        return loops.withLock { loops in
            if let existing = loops[key] { return existing }
            let created = LoopStreams(
                eventLoop: eventLoop,
                limits: limits,
                clock: clock,
                logger: logger,
                metrics: metrics,
                onDrained: drained,
                onCountChange: { [weak self] change in self?.streams.add(change, ordering: .relaxed) }
            )
            loops[key] = created
            everyLoop.withLock { $0.append(created) }
            return created
        }
    }

    // MARK: EventConsumer

    func deliver(_ events: [Event]) {
        let loops = everyLoop.withLock { $0 }
        guard !loops.isEmpty else { return }
        let encoded = events.map(EncodedEvent.init)
        for loop in loops { loop.enqueue(encoded) }
    }

    var backlog: Int {
        everyLoop.withLock { $0 }.reduce(0) { max($0, $1.backlog) }
    }

    // MARK: Ending streams

    /// Ends every stream opened with the token whose SHA-256 is `tokenHash`.
    func end(tokenHash: String, reason: StreamEndReason) {
        for loop in everyLoop.withLock({ $0 }) {
            loop.end(reason) { $0.tokenHash == tokenHash }
        }
    }

    /// Waits for graceful shutdown, then ends every stream with `:closed shutdown`.
    func run() async throws {
        try? await gracefulShutdown()
        shuttingDown.store(true, ordering: .relaxed)
        for loop in everyLoop.withLock({ $0 }) {
            loop.end(.shutdown) { _ in true }
            loop.stop()
        }
        logger.debug("event streams stopped")
    }
}
