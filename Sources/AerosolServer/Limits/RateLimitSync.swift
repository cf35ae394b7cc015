import AerosolStore
import Logging
import ServiceLifecycle

/// Shares the request limits per client address and the sign-in lockout among the nodes of one
/// PostgreSQL database:
/// once a second each node writes its counts of the addresses it served since the last time
/// and reads the counts the others wrote, so that a client meets each limit once for the whole
/// cluster, not once per node. A client that spreads a burst over the nodes gets at most one
/// second of requests past the limit before every node counts them.
struct RateLimitSync: Service {
    /// The request limits and the sign-in lockout.
    let limiters: [any SharedCounts]
    let store: RateCountStore
    let node: String
    let logger: Logger
    /// How often counts are written and read (1 s).
    var interval: Duration = .seconds(1)

    func run() async throws {
        var since: Int64?
        var failure = RepeatedFailure()
        var rounds = 0
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            do {
                try await store.write(limiters.flatMap { $0.drain() }, node: node)
                let read = try await store.read(since: since, except: node)
                for limiter in limiters { limiter.absorb(read.counts, databaseNow: read.now) }
                // A count committed just after this read has an earlier time than the next
                // read's start: read back 2 s more than the interval each time.
                since = read.now - 2_000
                rounds += 1
                if rounds % 60 == 0 { try await store.sweep() }
                failure.succeeded("sharing request counts with the other nodes again", logger: logger)
            } catch {
                failure.failed(
                    error,
                    "cannot share request counts with the other nodes; each node counts alone until it can",
                    logger: logger
                )
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }
}
