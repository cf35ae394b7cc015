import AerosolModels
import Metrics

/// What the event log reports through swift-metrics: events committed by source, how long a
/// commit takes and how many events it carries. Until the server bootstraps a metrics backend
/// these are swift-metrics' no-op handlers.
///
/// Counted once per commit (one increment per source, not per event), so the cost does not grow
/// with the batch.
struct EventLogMetrics: Sendable {
    private let published: [Counter]
    /// From the start of the transaction to its durable commit.
    let commitDuration: Timer
    /// Events per committed transaction.
    let batchSize: Recorder

    /// The sources in the order of ``published``.
    private static let sources: [EventName.Source] = [.api, .device, .webhookResponse, .cloud]

    init() {
        published = Self.sources.map { source in
            Counter(label: "aerosol_events_published_total", dimensions: [("source", Self.label(source))])
        }
        commitDuration = Timer(label: "aerosol_event_log_commit_duration_seconds")
        batchSize = Recorder(label: "aerosol_event_log_commit_events", aggregate: true)
    }

    /// Counts a committed batch: `tally[i]` events from the i-th of ``sources``.
    func count(_ tally: [Int]) {
        for (counter, count) in zip(published, tally) where count > 0 {
            counter.increment(by: count)
        }
    }

    /// Where in a tally `source` counts.
    static func index(of source: EventName.Source) -> Int {
        switch source {
        case .api: 0
        case .device: 1
        case .webhookResponse: 2
        case .cloud: 3
        }
    }

    /// A tally with nothing counted.
    static var emptyTally: [Int] { Array(repeating: 0, count: sources.count) }

    private static func label(_ source: EventName.Source) -> String {
        switch source {
        case .api: "api"
        case .device: "device"
        case .webhookResponse: "webhook"
        case .cloud: "cloud"
        }
    }
}
