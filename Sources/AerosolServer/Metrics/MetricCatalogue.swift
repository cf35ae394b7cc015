/// Every metric Aerosol exposes: its name, its help text, and the histogram buckets that differ
/// from swift-prometheus' defaults. `GET /metrics` writes a `# HELP` line from here for each
/// family (swift-metrics has no help texts); a test checks that none is missing.
///
/// Names follow Prometheus' conventions: `aerosol_` prefix, base units (`_seconds`, `_bytes`),
/// `_total` on counters. No label takes unbounded values: routes are templates, device IDs and
/// tokens never appear.
enum MetricCatalogue {
    static let help: [String: String] = [
        // HTTP (Hummingbird's metrics middleware, renamed below).
        "aerosol_http_requests_total": "HTTP requests answered, by route template, method and status.",
        "aerosol_http_request_duration_seconds":
            "Time from a request's arrival until its response was written (an event stream: until it ended).",
        "aerosol_http_request_errors_total":
            "HTTP requests that ended in an error, by route template, method and status.",
        "aerosol_http_requests_in_flight": "HTTP requests being handled, by method.",
        // Events.
        "aerosol_events_published_total":
            "Events committed to the event log, by source (api, device, webhook responses, cloud).",
        "aerosol_event_log_commit_duration_seconds": "Time one event log transaction took until it was durable.",
        "aerosol_event_log_commit_events": "Events per event log transaction.",
        // Streams.
        "aerosol_streams_open": "Event streams open.",
        "aerosol_stream_deliveries_total": "Events written to event streams.",
        "aerosol_stream_replays_total": "Last-Event-ID replays started.",
        "aerosol_streams_closed_total": "Event streams ended, by reason (overflow: closed as too slow).",
        // Devices.
        "aerosol_devices_connected": "Devices online, by protocol.",
        "aerosol_device_handshakes_total":
            "Device handshakes, by protocol and outcome (resumed: a UDP session taken up without one).",
        "aerosol_device_request_duration_seconds":
            "Time a request to a device took until its answer or timeout, by kind.",
        // Webhooks.
        "aerosol_webhook_queued_deliveries": "Webhook deliveries waiting in the outbox.",
        "aerosol_webhook_attempts_total":
            "Webhook delivery attempts, by outcome (dropped: the webhook's queue was full).",
        "aerosol_webhook_attempt_duration_seconds": "Time a webhook request took until its answer.",
        "aerosol_webhook_delivery_latency_seconds":
            "Time from an event's publication until its webhook delivery succeeded.",
        // Database and process.
        "aerosol_database_size_bytes":
            "Size of the database: SQLite's file and write-ahead log, or pg_database_size on PostgreSQL.",
        "process_cpu_seconds_total": "User and system CPU time the process used.",
        "process_resident_memory_bytes": "Resident memory of the process.",
        "process_virtual_memory_bytes": "Virtual memory of the process.",
        "process_open_fds": "File descriptors the process has open.",
        "process_max_fds": "The most file descriptors the process may open.",
        "process_start_time_seconds": "When the process started, in seconds since the Unix epoch.",
    ]

    /// Hummingbird's metric and label names, in Aerosol's.
    static func rename(_ label: String, _ dimensions: [(String, String)]) -> (String, [(String, String)]) {
        let name =
            switch label {
            case "hb.requests": "aerosol_http_requests_total"
            case "http.server.request.duration": "aerosol_http_request_duration_seconds"
            case "hb.request.errors": "aerosol_http_request_errors_total"
            case "http.server.active_requests": "aerosol_http_requests_in_flight"
            default: label
            }
        let renamed = dimensions.map { key, value in
            switch key {
            case "http.route": ("route", value)
            case "http.request.method": ("method", value)
            case "http.response.status_code", "error.type": ("status", value)
            default: (key, value)
            }
        }
        return (name, renamed)
    }

    /// Buckets for the duration histograms whose range is not swift-prometheus' 5 ms–10 s.
    static let durationBuckets: [String: [Duration]] = [
        // A commit is an fsync: a fraction of a millisecond on an SSD.
        "aerosol_event_log_commit_duration_seconds": milliseconds([
            0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000,
        ]),
        // Most API requests take about a millisecond.
        "aerosol_http_request_duration_seconds": milliseconds([
            0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000,
        ]),
        // Device requests time out after 30 s by default.
        "aerosol_device_request_duration_seconds": milliseconds([
            1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000,
        ]),
        "aerosol_webhook_attempt_duration_seconds": milliseconds([
            5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 20000,
        ]),
        // Retries with backoff stretch delivery over minutes.
        "aerosol_webhook_delivery_latency_seconds": milliseconds([
            5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 900000, 3_600_000,
        ]),
    ]

    /// Buckets for value histograms.
    static let valueBuckets: [String: [Double]] = [
        "aerosol_event_log_commit_events": [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2000]
    ]

    private static func milliseconds(_ values: [Double]) -> [Duration] {
        values.map { Duration.nanoseconds(Int64($0 * 1_000_000)) }
    }
}
