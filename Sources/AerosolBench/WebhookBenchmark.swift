import Foundation
import NIOCore
import WireClient

/// Webhook delivery, measured end to end against a local receiver that answers at once:
///
/// - `throughput`: rate limits off, several webhooks, events published as fast as the
///   publishers go; deliveries received per second (target ≥ 5,000/s);
/// - `latency`: one webhook, events paced at `rate` per second (default 1,000); publish-to-
///   receipt percentiles (target p95 ≤ 50 ms);
/// - `scheduler`: 1,000 webhooks at the default 12 calls per minute, each sent one event every
///   5 seconds (exactly its limit, 200 deliveries/s in all); every delivery must leave on time,
///   so publish-to-receipt stays low (target p99 ≤ 100 ms).
public struct WebhookBenchmark: Sendable {
    /// Which measurement.
    public enum Mode: String, Sendable, CaseIterable, Codable {
        case throughput, latency, scheduler
    }

    /// The measurement to run.
    public var mode: Mode = .throughput
    /// Seconds measured after the warm-up (default 10).
    public var duration = 10.0
    /// Seconds of warm-up, not counted (default 2).
    public var warmup = 2.0
    /// Webhooks for `throughput` (default 4) and `scheduler` (default 1,000).
    public var webhooks: Int?
    /// Events per second for `latency` (default 1,000).
    public var rate = 1000
    /// Publishing connections (default 16).
    public var publishers = 16

    /// A benchmark with the defaults.
    public init() {}

    /// The figures.
    public struct Result: BenchmarkResult {
        public var benchmark = "webhooks"
        public var mode: Mode
        public var webhooks: Int
        public var eventsPublished: Int
        public var deliveriesReceived: Int
        public var deliveriesPerSecond: Double
        public var p50Ms: Double
        public var p95Ms: Double
        public var p99Ms: Double
        public var maxMs: Double
        public var target: String
        public var metTarget: Bool

        public var report: String {
            Format.block(
                "webhooks \(mode.rawValue): \(webhooks) webhook(s), local receiver answering at once",
                [
                    ("events published", String(eventsPublished)),
                    ("deliveries received", String(deliveriesReceived)),
                    ("deliveries/s", Format.number(deliveriesPerSecond)),
                    ("publish→receipt p50", "\(p50Ms) ms"),
                    ("publish→receipt p95", "\(p95Ms) ms"),
                    ("publish→receipt p99", "\(p99Ms) ms"),
                    ("publish→receipt max", "\(maxMs) ms"),
                    ("target", "\(target): \(Format.verdict(metTarget))"),
                ]
            )
        }

        public var summary: SummaryRow {
            switch mode {
            case .throughput:
                SummaryRow(
                    benchmark: "webhooks throughput",
                    figure: "deliveries/s",
                    value: Format.number(deliveriesPerSecond),
                    target: "≥ 5000",
                    met: metTarget
                )
            case .latency:
                SummaryRow(
                    benchmark: "webhooks latency",
                    figure: "p95 ms at 1000/s",
                    value: "\(p95Ms)",
                    target: "≤ 50",
                    met: metTarget
                )
            case .scheduler:
                SummaryRow(
                    benchmark: "webhooks scheduler",
                    figure: "p99 ms, 1000 hooks",
                    value: "\(p99Ms)",
                    target: "≤ 100",
                    met: metTarget
                )
            }
        }
    }

    /// Runs the measurement against a fresh server.
    public func run() async throws -> Result {
        var options = ServerOptions(sync: "full")
        let hooks = webhooks ?? (mode == .scheduler ? 1000 : mode == .throughput ? 4 : 1)
        options.extraArguments = ["--allow-private-webhooks"]
        if mode != .scheduler { options.extraArguments += ["--webhook-rate-limit", "0"] }
        let receiver = try await WebhookReceiver.start()
        do {
            let result = try await measure(options, receiver: receiver, hooks: hooks)
            await receiver.stop()
            return result
        } catch {
            await receiver.stop()
            throw error
        }
    }

    private func measure(_ options: ServerOptions, receiver: WebhookReceiver, hooks: Int) async throws -> Result {
        try await BenchServer.run(options) { server in
            try await createWebhooks(hooks, on: server, target: receiver.port)
            let published: Int
            switch mode {
            case .throughput:
                published = try await publish(on: server, receiver: receiver, prefix: { _ in "wh" }, pace: nil)
            case .latency:
                published = try await publish(on: server, receiver: receiver, prefix: { _ in "wh" }, pace: rate)
            case .scheduler:
                // Each webhook gets one event every 5 s, spread evenly: `hooks / 5` events/s.
                published = try await publish(
                    on: server,
                    receiver: receiver,
                    prefix: { "wh\($0 % hooks)/" },
                    pace: max(1, hooks / 5)
                )
            }
            // Let the last deliveries arrive.
            let drainStart = MonotonicClock.nanoseconds()
            while receiver.state.snapshot.deliveries < published * (mode == .throughput ? hooks : 1),
                MonotonicClock.seconds(since: drainStart) < 10
            {
                try await Task.sleep(for: .milliseconds(20))
            }
            return result(receiver.state.snapshot, hooks: hooks, published: published)
        }
    }

    private func result(_ recorded: WebhookReceiver.State.Recorded, hooks: Int, published: Int) -> Result {
        let seconds = max(1e-9, Double(recorded.lastNanoseconds &- recorded.firstNanoseconds) / 1e9)
        let histogram = recorded.histogram
        let p95 = Format.milliseconds(histogram.percentile(0.95))
        let p99 = Format.milliseconds(histogram.percentile(0.99))
        let perSecond = Double(recorded.deliveries) / seconds
        let (target, met): (String, Bool) =
            switch mode {
            case .throughput: ("≥ 5000 deliveries/s", perSecond >= 5000)
            case .latency: ("p95 ≤ 50 ms", histogram.count > 0 && p95 <= 50)
            case .scheduler: ("p99 ≤ 100 ms", histogram.count > 0 && p99 <= 100)
            }
        return Result(
            mode: mode,
            webhooks: hooks,
            eventsPublished: published,
            deliveriesReceived: recorded.deliveries,
            deliveriesPerSecond: perSecond,
            p50Ms: Format.milliseconds(histogram.percentile(0.5)),
            p95Ms: p95,
            p99Ms: p99,
            maxMs: Format.milliseconds(histogram.max),
            target: target,
            metTarget: met
        )
    }

    private func createWebhooks(_ count: Int, on server: BenchServer, target: Int) async throws {
        let connection = try await WireConnection.connect(port: server.port)
        for index in 0..<count {
            let event = mode == .scheduler ? "wh\(index)/" : "wh"
            let response = try await connection.request(
                .POST,
                "/v1/integrations",
                headers: [("Authorization", "Bearer \(server.token)"), ("Content-Type", "application/json")],
                body: #"{"integration_type":"Webhook","event":"\#(event)","url":"http://127.0.0.1:\#(target)/hook"}"#
            )
            guard (200..<300).contains(response.status) else {
                await connection.close()
                throw BenchError("creating webhook \(index) answered \(response.status): \(response.text)")
            }
        }
        await connection.close()
    }

    /// Publishes for warm-up + duration from `publishers` connections, paced to `pace` events/s
    /// in all (or as fast as they go); the data is the publish time. Returns the events
    /// published after the warm-up (the receiver is reset then).
    private func publish(
        on server: BenchServer,
        receiver: WebhookReceiver,
        prefix: @escaping @Sendable (Int) -> String,
        pace: Int?
    ) async throws -> Int {
        let connections = max(1, min(publishers, pace ?? publishers))
        let start = MonotonicClock.nanoseconds()
        let warmupEnd = start + UInt64(warmup * 1e9)
        let end = warmupEnd + UInt64(duration * 1e9)
        let port = server.port
        let token = server.token
        let counts = try await withThrowingTaskGroup(of: Int.self) { group in
            for lane in 0..<connections {
                group.addTask {
                    let connection = try await WireConnection.connect(port: port)
                    var measured = 0
                    var index = lane
                    while true {
                        let now = MonotonicClock.nanoseconds()
                        if now >= end { break }
                        if let pace {
                            // Event `index` of all lanes is due at start + index / pace.
                            let due = start + UInt64(Double(index) / Double(pace) * 1e9)
                            if due > now { try await Task.sleep(for: .nanoseconds(Int64(due - now))) }
                        }
                        let sent = MonotonicClock.nanoseconds()
                        let response = try await connection.request(
                            .POST,
                            "/v1/devices/events",
                            headers: [
                                ("Authorization", "Bearer \(token)"),
                                ("Content-Type", "application/x-www-form-urlencoded"),
                            ],
                            body: "name=\(prefix(index))&data=\(sent)"
                        )
                        guard response.status == 200 else {
                            throw BenchError("publish answered \(response.status): \(response.text)")
                        }
                        if sent >= warmupEnd { measured += 1 }
                        index += connections
                    }
                    await connection.close()
                    return measured
                }
            }
            // Start counting deliveries when the warm-up ends.
            let wait = warmupEnd > MonotonicClock.nanoseconds() ? warmupEnd - MonotonicClock.nanoseconds() : 0
            try await Task.sleep(for: .nanoseconds(Int64(wait)))
            receiver.state.reset()
            var total = 0
            for try await count in group { total += count }
            return total
        }
        return counts
    }
}
