import Hummingbird

/// `GET /metrics` in the Prometheus text format, on the API port (unless `--metrics-port` moves
/// it to its own). Open to anyone who can reach the port, as Prometheus expects: it holds
/// counts and durations, never a device ID, a token or a user (deploy/nginx.conf keeps it off
/// the public side of a proxy).
struct MetricsRoutes {
    let report: MetricsReport

    /// The content type Prometheus asks for (text format 0.0.4).
    static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    func register(_ routes: RouteRegistrar) {
        let report = self.report
        routes.on(.get, "/metrics", .anyone) { _, _ in await Self.response(report) }
    }

    static func response(_ report: MetricsReport) async -> Response {
        Response(
            status: .ok,
            headers: [.contentType: contentType, .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(string: await report.render()))
        )
    }
}
