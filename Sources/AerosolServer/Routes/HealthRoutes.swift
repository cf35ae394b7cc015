import AerosolModels
import Hummingbird

/// `GET /healthz` (the process answers) and `GET /readyz` (it can do its work: the database
/// takes writes and the device gateway listens), for load balancers, systemd and orchestrators.
struct HealthRoutes {
    let cloud: Cloud
    /// How long the database may take to grant its write lock before the server counts as not
    /// ready (a probe must not hang: orchestrators time out at 1–10 s).
    static let writeProbeTimeout: Duration = .seconds(2)

    func register(_ routes: RouteRegistrar) {
        let cloud = self.cloud
        let probe = WriteProbe(database: cloud.database)
        routes.on(.get, "/healthz", .anyone) { _, _ in
            .json(
                .object([
                    ("ok", .bool(true)),
                    ("last_event_id", .int(Int64(cloud.log.latestID))),
                    ("streams", .int(Int64(cloud.streams.count))),
                ])
            )
        }
        routes.on(.get, "/readyz", .anyone) { _, context in
            let problems = await Self.problems(cloud, probe: probe)
            guard problems.isEmpty else {
                context.logger.warning("not ready", metadata: ["reasons": "\(problems.joined(separator: "; "))"])
                return .json(
                    .object([("ok", .bool(false)), ("reasons", .array(problems.map { .string($0) }))]),
                    status: .serviceUnavailable
                )
            }
            return .json(.object([("ok", .bool(true))]))
        }
    }

    /// What keeps the server from serving, in words; empty when ready.
    static func problems(_ cloud: Cloud, probe: WriteProbe) async -> [String] {
        var problems: [String] = []
        if !cloud.gateway.isListening { problems.append("the device gateway is not listening") }
        if let failure = await probe.check(timeout: writeProbeTimeout) { problems.append(failure) }
        return problems
    }
}
