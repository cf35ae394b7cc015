import Metrics

/// What the event streams report through swift-metrics: events written to streams, replays
/// started, and streams ended by reason (`overflow`: closed as too slow). Open streams are
/// counted when the metrics are read (``StreamHub/count``).
///
/// Deliveries are counted once per batch on each event loop, not per write: at 400k deliveries
/// a second a per-write atomic would be measurable.
struct StreamMetrics: Sendable {
    private let deliveries = Counter(label: "aerosol_stream_deliveries_total")
    private let replays = Counter(label: "aerosol_stream_replays_total")
    private let ended: [StreamEndReason: Counter]

    init() {
        var ended: [StreamEndReason: Counter] = [:]
        for reason in [StreamEndReason.overflow, .shutdown, .revoked, .expired, .cancelled] {
            ended[reason] = Counter(label: "aerosol_streams_closed_total", dimensions: [("reason", reason.rawValue)])
        }
        self.ended = ended
    }

    /// Counts `count` events written to streams.
    func delivered(_ count: Int) {
        if count > 0 { deliveries.increment(by: count) }
    }

    /// Counts a `Last-Event-ID` replay.
    func replayStarted() {
        replays.increment()
    }

    /// Counts a stream that ended.
    func ended(_ reason: StreamEndReason) {
        ended[reason]?.increment()
    }
}
