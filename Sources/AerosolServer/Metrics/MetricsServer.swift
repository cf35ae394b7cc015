import Hummingbird
import Logging
import ServiceLifecycle

/// `GET /metrics` on a port of its own (`--metrics-port`), so that the API port can be public
/// while the metrics stay on an internal network. Anything else on that port is 404.
struct MetricsServer: Service {
    let host: String
    let port: Int
    let report: MetricsReport
    let logger: Logger

    func run() async throws {
        let router = Router()
        let report = self.report
        router.get("/metrics") { _, _ in await MetricsRoutes.response(report) }
        let host = self.host
        let logger = self.logger
        let application = Application(
            router: router,
            configuration: .init(address: .hostname(host, port: port), serverName: nil),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? 0
                logger.info("metrics at http://\(host):\(port)/metrics")
            },
            logger: logger
        )
        do {
            try await application.run()
        } catch {
            throw MetricsServerError(host: host, port: port, underlying: error)
        }
    }
}
