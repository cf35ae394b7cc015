import NIOCore
import NIOPosix

/// The loads of `aerosol bench compare`, each run the same way against either target.
struct CompareLoads: Sendable {
    /// Subscribers of the one channel (default 1,000).
    var subscribers = 1000
    /// Publishing connections at saturation (default 16).
    var saturationPublishers = 16
    /// Publishing connections for ingest with no subscribers (default 64).
    var ingestPublishers = 64
    /// Events per second for the latency load (default 50).
    var latencyRate = 50
    /// Seconds measured per load (default 10).
    var duration = 10.0
    /// Seconds of load before measuring (default 2).
    var warmup = 2.0

    /// What one target did.
    struct Figures: Codable, Sendable {
        var saturationDeliveriesPerSecond = 0.0
        var serialDeliveriesPerSecond = 0.0
        var serialAckP50Ms = 0.0
        var latencyP50Ms = 0.0
        var latencyP99Ms = 0.0
        var idleKiBPerSubscriber = 0.0
        var ingestPerSecond = 0.0
        var subscribersLost = 0
    }

    func run(on target: CompareTarget) async throws -> Figures {
        var figures = Figures()
        // First, on the fresh server: after the other loads the allocator keeps the memory their
        // streams used, and 1,000 new streams reuse it without growing the resident set.
        figures.idleKiBPerSubscriber = try await idleMemory(on: target)
        let saturation = try await deliveries(on: target, publishers: saturationPublishers)
        figures.saturationDeliveriesPerSecond = saturation.rate
        let serial = try await deliveries(on: target, publishers: 1)
        figures.serialDeliveriesPerSecond = serial.rate
        figures.serialAckP50Ms = serial.ackP50Ms
        let latency = try await latency(on: target)
        figures.latencyP50Ms = latency.p50Ms
        figures.latencyP99Ms = latency.p99Ms
        figures.ingestPerSecond = try await ingest(on: target)
        figures.subscribersLost = saturation.lost + serial.lost + latency.lost
        return figures
    }

    /// Deliveries per second to `subscribers` streams while `publishers` connections publish
    /// back to back (each waits for its acknowledgement).
    func deliveries(on target: CompareTarget, publishers: Int) async throws
        -> (rate: Double, ackP50Ms: Double, lost: Int)
    {
        let clients = try await target.clients()
        let streams = try await clients.openStreams(
            request: target.streamRequest,
            count: subscribers,
            recordsLatency: false
        )
        let stopAt = NIODeadline.now() + .fractionalSeconds(warmup + duration + 0.5)
        let senders = try await clients.openPublishers(
            count: publishers,
            request: target.publish.bytes("21.5"),
            stopAt: stopAt
        )
        try await Task.sleep(for: .seconds(warmup))
        let before = try await clients.board.total(resetLatency: true)
        let start = MonotonicClock.nanoseconds()
        try await Task.sleep(for: .seconds(duration))
        let after = try await clients.board.total()
        let seconds = MonotonicClock.seconds(since: start)
        _ = await Clients.wait(for: senders.done, until: stopAt + .seconds(10))
        await Clients.close(senders.channels)
        await Clients.close(streams)
        return (
            Double(after.frames - before.frames) / seconds,
            Format.milliseconds(after.ackLatency.percentile(0.50)),
            after.streamsLost
        )
    }

    /// Publish-to-delivery latency at `latencyRate` events per second.
    func latency(on target: CompareTarget) async throws -> (p50Ms: Double, p99Ms: Double, lost: Int) {
        let clients = try await target.clients()
        let streams = try await clients.openStreams(
            request: target.streamRequest,
            count: subscribers,
            recordsLatency: true
        )
        let warmupEvents = Int((Double(latencyRate) * warmup).rounded())
        let publisher = try await clients.openPacedPublisher(
            PacedPublishHandler.Plan(
                request: target.publish,
                rate: latencyRate,
                warmupCount: warmupEvents,
                count: max(1, Int((Double(latencyRate) * duration).rounded()))
            )
        )
        _ = await Clients.wait(for: [publisher.done], until: .now() + .fractionalSeconds(warmup + duration + 10))
        let tally = try await clients.board.totalOnceDelivered()
        await Clients.close([publisher.channel])
        await Clients.close(streams)
        return (
            Format.milliseconds(tally.deliveryLatency.percentile(0.50)),
            Format.milliseconds(tally.deliveryLatency.percentile(0.99)),
            tally.streamsLost
        )
    }

    /// KiB of server memory per idle subscriber: resident memory with `subscribers` open streams
    /// minus without, once each has settled.
    func idleMemory(on target: CompareTarget) async throws -> Double {
        let clients = try await target.clients()
        let before = try await ProcessMemory.steady { try target.residentKiB() }
        let streams = try await clients.openStreams(
            request: target.streamRequest,
            count: subscribers,
            recordsLatency: false
        )
        let after = try await ProcessMemory.steady { try target.residentKiB() }
        await Clients.close(streams)
        return Double(after - before) / Double(subscribers)
    }

    /// Acknowledged publishes per second over `ingestPublishers` keep-alive connections, with
    /// no subscribers.
    func ingest(on target: CompareTarget) async throws -> Double {
        let clients = try await target.clients()
        let stopAt = NIODeadline.now() + .fractionalSeconds(warmup + duration + 0.5)
        let senders = try await clients.openPublishers(
            count: ingestPublishers,
            request: target.publish.bytes("21.5"),
            stopAt: stopAt
        )
        try await Task.sleep(for: .seconds(warmup))
        let before = try await clients.board.total()
        let start = MonotonicClock.nanoseconds()
        try await Task.sleep(for: .seconds(duration))
        let after = try await clients.board.total()
        let seconds = MonotonicClock.seconds(since: start)
        _ = await Clients.wait(for: senders.done, until: stopAt + .seconds(10))
        await Clients.close(senders.channels)
        return Double(after.acks - before.acks) / seconds
    }
}
