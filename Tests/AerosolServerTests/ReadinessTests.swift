import AerosolTesting
import Foundation
import Testing

/// `GET /readyz`: 200 while the database takes writes and the gateway listens; 503 with the
/// reason when another process holds the database's write lock.
@Suite("Readiness", .timeLimit(.minutes(1)))
struct ReadinessTests {
    @Test func readyWhileTheDatabaseTakesWrites() async throws {
        try await TestServer.with { server in
            let ready = try await server.request(.GET, "/readyz")
            #expect(ready.status == 200)
            #expect(ready.text == #"{"ok":true}"#)
            #expect(ready.header("Content-Type") == "application/json")
        }
    }

    /// SQLite's file lock, taken by another process.
    @Test(.enabled(if: TestDatabases.engine == .sqlite))
    func notReadyWhileAnotherProcessHoldsTheWriteLock() async throws {
        try await TestServer.with { server in
            // Python's sqlite3 (another process, as a backup tool or a stray sqlite3 shell would
            // be) takes the write lock and keeps it until its standard input closes (not for a
            // fixed time: on a loaded machine the probes below may take longer than any guess).
            let holder = ChildProcess()
            holder.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            let path = server.dataDirectory + "/aerosol.sqlite"
            holder.arguments = [
                "python3", "-c",
                """
                import sqlite3, sys, time
                c = sqlite3.connect(sys.argv[1], isolation_level=None)
                c.execute('BEGIN IMMEDIATE')
                print('locked', flush=True)
                sys.stdin.read()
                c.execute('ROLLBACK')
                """,
                path,
            ]
            let output = Pipe()
            let input = Pipe()
            holder.standardOutput = output
            holder.standardInput = input
            try holder.run()
            defer { if holder.isRunning { holder.terminate() } }
            let line = output.fileHandleForReading.availableData
            #expect(String(decoding: line, as: UTF8.self).hasPrefix("locked"))

            let busy = try await server.request(.GET, "/readyz")
            #expect(busy.status == 503)
            #expect(busy.text == #"{"ok":false,"reasons":["the database did not take a write within 2 s"]}"#)
            // A second probe meanwhile waits on the same write, not behind it.
            #expect(try await server.request(.GET, "/readyz").status == 503)

            try input.fileHandleForWriting.close()
            holder.waitUntilExit()
            var answer = try await server.request(.GET, "/readyz")
            for _ in 0..<50 where answer.status != 200 {
                try await Task.sleep(for: .milliseconds(100))
                answer = try await server.request(.GET, "/readyz")
            }
            #expect(answer.status == 200)
        }
    }
}
