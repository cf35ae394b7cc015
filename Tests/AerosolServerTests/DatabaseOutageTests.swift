import AerosolModels
import AerosolTesting
import Foundation
import Testing
import WireClient

/// Nodes on PostgreSQL while the database goes away for 10 s and comes back. It stops the
/// tests' PostgreSQL server, so it runs on its own (CI sets `AEROSOL_TEST_POSTGRES_CONTROL` to
/// `.ci/postgres` for that run only).
@Suite(
    "PostgreSQL outage",
    .timeLimit(.minutes(2)),
    .enabled(if: ProcessInfo.processInfo.environment["AEROSOL_TEST_POSTGRES_CONTROL"] != nil)
)
struct DatabaseOutageTests {
    /// Runs `.ci/postgres stop|resume`.
    static func database(_ command: String) async throws {
        let script = ProcessInfo.processInfo.environment["AEROSOL_TEST_POSTGRES_CONTROL"] ?? ""
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            Thread.detachNewThread {
                let process = ChildProcess()
                process.executableURL = URL(fileURLWithPath: "/bin/bash")
                process.arguments = [script, command]
                do {
                    try process.run()
                    process.waitUntilExit()
                    if process.terminationStatus == 0 {
                        continuation.resume()
                    } else {
                        continuation.resume(throwing: TestFailure("\(script) \(command) failed"))
                    }
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        }
    }

    @Test func everyNodeAnswers503WhileTheDatabaseIsAwayAndRecoversWithNothingLost() async throws {
        try await TestCluster.with(nodes: 2) { nodes in
            try await nodes[0].createUser("ada@example.com")
            let token = try await nodes[0].login("ada@example.com", expiresIn: 0)
            for count in 1...5 { try await nodes[count % 2].publish("before", "\(count)", token: token) }

            try await Self.database("stop")
            let stopped = ContinuousClock.now
            do {
                let started = ContinuousClock.now
                let refused = try await nodes[1].form(
                    .POST,
                    "/v1/devices/events",
                    token: token,
                    [("name", "during"), ("data", "x")]
                )
                #expect(refused.status == 503)
                #expect(refused.header("Retry-After") != nil)
                #expect(started.duration(to: .now) < .seconds(12), "answered, not hung")
                for node in nodes {
                    let ready = try await node.request(.GET, "/readyz")
                    #expect(ready.status == 503)
                    #expect(ready.text.hasPrefix(#"{"ok":false,"reasons":["the database"#))
                }
                try await Task.sleep(until: stopped + .seconds(10))
            } catch {
                try await Self.database("resume")
                throw error
            }
            try await Self.database("resume")

            // Every node is ready again by itself, and takes publishes.
            for node in nodes {
                let deadline = ContinuousClock.now + .seconds(30)
                while try await node.request(.GET, "/readyz").status != 200 {
                    guard ContinuousClock.now < deadline else { throw TestFailure("a node did not recover") }
                    try await Task.sleep(for: .milliseconds(200))
                }
            }
            try await nodes[1].publish("after", "6", token: token)
            // Every acknowledged event is there, in order, from either node.
            for node in nodes {
                let stream = try await EventStreamReader.open(
                    node,
                    "/v1/devices/events",
                    token: token,
                    headers: [("Last-Event-ID", "0")]
                )
                let frames = try await stream.readEvents(6, timeout: .seconds(20))
                let names = frames.compactMap { $0.split(separator: "\n").first }
                #expect(names == Array(repeating: "event: before", count: 5) + ["event: after"])
                #expect(ReplayTests.ids(frames) == Array(1...6))
                await stream.close()
            }
        }
    }
}
