import CoreMetrics
import Prometheus
import Synchronization

/// The process's Prometheus registry behind swift-metrics, which every module reports through.
///
/// swift-metrics has one backend per process, bootstrapped once: the first server built with
/// metrics on does it (``shared``). A process that runs one server — `aerosol serve` — reports
/// exactly that server; one that runs several (the tests) reports their sum, except for the
/// figures read when the metrics are read (``MetricsReport``).
final class MetricsBackend: Sendable {
    /// Made, and swift-metrics bootstrapped with it, on first use.
    static let shared = MetricsBackend()

    let registry = PrometheusCollectorRegistry()
    /// Held from setting the figures read at scrape time until they are written out, so that
    /// two servers of one process scraped at once each report their own.
    private let scraping = Mutex(())

    private init() {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.nameAndLabelSanitizer = MetricCatalogue.rename
        factory.durationHistogramBuckets = MetricCatalogue.durationBuckets
        factory.valueHistogramBuckets = MetricCatalogue.valueBuckets
        MetricsSystem.bootstrap(factory)
    }

    /// Runs `update` (which sets the figures read at scrape time), then writes the registry in
    /// the Prometheus text format, with a `# HELP` line before each family's `# TYPE` line.
    func exposition(after update: () -> Void) -> String {
        let emitted = scraping.withLock { _ in
            update()
            return registry.emitToString()
        }
        var text = ""
        for line in emitted.split(separator: "\n", omittingEmptySubsequences: true) {
            if line.hasPrefix("# TYPE ") {
                let name = line.dropFirst("# TYPE ".count).prefix { $0 != " " }
                if let help = MetricCatalogue.help[String(name)] { text += "# HELP \(name) \(help)\n" }
            }
            text += line
            text += "\n"
        }
        return text
    }
}
