import AerosolServer
import AerosolTesting
import Foundation
import Testing
import WireClient

/// `GET /metrics`: what the server did, counted in the Prometheus text format that promtool
/// accepts, with no device ID or token in it; on its own port or off with `--metrics-port`.
@Suite("Prometheus metrics", .timeLimit(.minutes(2)))
struct MetricsTests {
    @Test func requestsEventsAndStreamsAreCounted() async throws {
        try await TestServer.with { server in
            let token = try await server.user("ada@example.com")
            // The counters are the process's (every in-process test server reports into one
            // registry), so the test compares before and after.
            let before = try await MetricsScrape.read(server)
            let stream = try await EventStreamReader.open(server, "/v1/devices/events/metric", token: token)
            try await stream.read(until: { $0.hasPrefix(":ok") })
            for index in 1...3 { try await server.publish("metric/test", "\(index)", token: token) }
            let events = try await stream.read(until: { $0.contains(#""data":"3""#) })
            let firstID = try #require(events.firstMatch(of: /id: (\d+)/)?.1)
            let replay = try await EventStreamReader.open(
                server,
                "/v1/devices/events/metric",
                token: token,
                headers: [("Last-Event-ID", String(firstID))]
            )
            try await replay.read(until: { $0.contains(#""data":"3""#) })

            let after = try await MetricsScrape.read(server)
            #expect(after.contentType == "text/plain; version=0.0.4; charset=utf-8")
            func delta(_ series: String) -> Double { after.value(series) - before.value(series) }
            let publishes = #"aerosol_http_requests_total{route="/v1/devices/events",method="POST",status="200"}"#
            #expect(delta(publishes) >= 3)
            #expect(
                after.has(
                    #"aerosol_http_request_duration_seconds_bucket{route="/v1/devices/events",method="POST",status="200",le="0.001"}"#
                )
            )
            #expect(delta(#"aerosol_events_published_total{source="api"}"#) >= 3)
            #expect(delta("aerosol_event_log_commit_events_count") >= 1)
            // Live writes; the replay's are counted as a replay.
            #expect(delta("aerosol_stream_deliveries_total") >= 3)
            #expect(delta("aerosol_stream_replays_total") >= 1)
            // Read when scraped, so this server's own figure.
            #expect(after.value("aerosol_streams_open") == 2)
            #expect(after.value(#"aerosol_devices_connected{protocol="tcp"}"#) == 0)
            #expect(after.value("aerosol_database_size_bytes") > 0)
            #expect(after.value("process_resident_memory_bytes") > 1_000_000)
            #expect(after.value("process_open_fds") > 0)
            #expect(after.value("process_cpu_seconds_total") > 0)

            #expect(after.familiesWithoutHelp.isEmpty, "no help text: \(after.familiesWithoutHelp)")
            #expect(!after.text.contains(token))
            #expect(!after.text.contains(try await server.userID(token: token)))
            #expect(try after.promtoolProblems() == "")

            await replay.close()
            await stream.close()
        }
    }

    @Test func routesAreCountedByTemplateNeverByPath() async throws {
        try await TestServer.with { server in
            let token = try await server.user("ada@example.com")
            _ = try await server.request(.GET, "/no/such/route/0123456789abcdef01234567")
            _ = try await server.get("/v1/devices/fedcba9876543210fedcba98", token: token)
            let scrape = try await MetricsScrape.read(server)
            #expect(scrape.value(#"aerosol_http_requests_total{route="NotFound",method="GET",status="404"}"#) >= 1)
            #expect(
                scrape.value(#"aerosol_http_requests_total{route="/v1/devices/{device}",method="GET",status="403"}"#)
                    >= 1
            )
            #expect(!scrape.text.contains("0123456789abcdef01234567"))
            #expect(!scrape.text.contains("fedcba9876543210fedcba98"))
        }
    }

    @Test func metricsPortZeroTurnsThemOff() async throws {
        try await TestServer.with(configure: { $0.metricsPort = 0 }) { server in
            let response = try await server.request(.GET, "/metrics")
            #expect(response.status == 404)
        }
    }

    @Test func aMetricsPortOfItsOwnServesThemThereAndNotOnTheAPIPort() async throws {
        let reserved = try ReservedPort()
        let port = reserved.port
        reserved.release()
        try await TestServer.with(configure: { $0.metricsPort = port }) { server in
            #expect(try await server.request(.GET, "/metrics").status == 404)
            var answer: WireResponse?
            for _ in 0..<100 {
                if let connection = try? await WireConnection.connect(host: "127.0.0.1", port: port) {
                    answer = try await connection.request(.GET, "/metrics")
                    await connection.close()
                    break
                }
                try await Task.sleep(for: .milliseconds(50))
            }
            let response = try #require(answer)
            #expect(response.status == 200)
            #expect(response.text.contains("# TYPE aerosol_http_requests_total counter"))
        }
    }
}
