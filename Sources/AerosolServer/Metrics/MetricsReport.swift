import AerosolStore
import DeviceGateway
import Foundation
import Metrics
import Synchronization

/// The figures read when `/metrics` is read rather than counted as they happen: open streams,
/// connected devices, queued webhook deliveries, the database's size and the process's CPU,
/// memory and files. Then the whole registry in the Prometheus text format.
final class MetricsReport: Sendable {
    private let cloud: Cloud
    private let database: Database
    private let backend: MetricsBackend

    private let streamsOpen = Gauge(label: "aerosol_streams_open")
    private let devicesConnected = DeviceTransport.allCases.map { transport in
        (transport, Gauge(label: "aerosol_devices_connected", dimensions: [("protocol", transport.rawValue)]))
    }
    private let queuedDeliveries = Gauge(label: "aerosol_webhook_queued_deliveries")
    private let databaseSize = Gauge(label: "aerosol_database_size_bytes")
    private let cpuSeconds = FloatingPointCounter(label: "process_cpu_seconds_total")
    private let residentMemory = Gauge(label: "process_resident_memory_bytes")
    private let virtualMemory = Gauge(label: "process_virtual_memory_bytes")
    private let openFiles = Gauge(label: "process_open_fds")
    private let maxOpenFiles = Gauge(label: "process_max_fds")
    private let startTime = Gauge(label: "process_start_time_seconds")
    /// CPU seconds already added to the counter (it only counts up; each read adds the rest).
    private let cpuCounted = Mutex<Double>(0)

    init(cloud: Cloud, database: Database, backend: MetricsBackend) {
        self.cloud = cloud
        self.database = database
        self.backend = backend
    }

    /// The metrics, as of now.
    func render() async -> String {
        // Asked before the lock: on PostgreSQL it is a query.
        let size = await database.sizeInBytes()
        return backend.exposition { update(databaseSize: size) }
    }

    private func update(databaseSize size: Int?) {
        streamsOpen.record(cloud.streams.count)
        for (transport, gauge) in devicesConnected { gauge.record(cloud.gateway.onlineCount(over: transport)) }
        queuedDeliveries.record(cloud.webhooks.queuedDeliveries)
        size.map(databaseSize.record)
        let process = ProcessStatistics.read()
        if let seconds = process.cpuSeconds {
            let added = cpuCounted.withLock { counted -> Double in
                defer { counted = max(counted, seconds) }
                return max(seconds - counted, 0)
            }
            if added > 0 { cpuSeconds.increment(by: added) }
        }
        process.residentBytes.map(residentMemory.record)
        process.virtualBytes.map(virtualMemory.record)
        process.openFiles.map(openFiles.record)
        process.maxOpenFiles.map(maxOpenFiles.record)
        process.startTime.map(startTime.record)
    }
}
