import Metrics

/// What the device gateways report through swift-metrics: handshakes by protocol and outcome,
/// and how long device requests take by kind. Connected devices are counted when the metrics
/// are read (``DeviceGateway/onlineCount(over:)``), not here.
struct GatewayMetrics: Sendable {
    /// How a handshake ended.
    enum Outcome: String, CaseIterable {
        /// A full handshake completed.
        case completed
        /// The device's proof, keys or messages were refused, or it went silent.
        case failed
        /// A UDP device took up its stored session without a handshake.
        case resumed
    }

    private let handshakes: [String: Counter]
    private let requests: [String: Timer]

    init() {
        var handshakes: [String: Counter] = [:]
        for transport in DeviceTransport.allCases {
            for outcome in Outcome.allCases {
                handshakes["\(transport.rawValue)/\(outcome.rawValue)"] = Counter(
                    label: "aerosol_device_handshakes_total",
                    dimensions: [("protocol", transport.rawValue), ("outcome", outcome.rawValue)]
                )
            }
        }
        self.handshakes = handshakes
        var requests: [String: Timer] = [:]
        for kind in ["describe", "variable", "function", "signal", "ping"] {
            requests[kind] = Timer(label: "aerosol_device_request_duration_seconds", dimensions: [("kind", kind)])
        }
        self.requests = requests
    }

    /// Counts a handshake.
    func handshake(_ transport: DeviceTransport, _ outcome: Outcome) {
        handshakes["\(transport.rawValue)/\(outcome.rawValue)"]?.increment()
    }

    /// Records how long `request` took, answered or not.
    func request(_ request: DeviceRequest, took duration: Duration) {
        requests[Self.kind(of: request)]?.record(duration: duration)
    }

    private static func kind(of request: DeviceRequest) -> String {
        switch request {
        case .describe: "describe"
        case .variable: "variable"
        case .function: "function"
        case .signal: "signal"
        case .ping: "ping"
        }
    }
}
