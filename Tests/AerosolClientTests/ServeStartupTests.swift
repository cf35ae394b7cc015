import AerosolTesting
import Foundation
import Testing

/// `aerosol serve` that cannot listen says why in one line on stderr and exits with code 1,
/// within seconds, leaving nothing running: a port in use, for each listener. The real
/// executable, real sockets.
@Suite("aerosol serve that cannot start", .timeLimit(.minutes(2)))
struct ServeStartupTests {
    /// Runs `aerosol ARGS…`; kills it and fails if it has not exited within `limit`.
    static func run(_ arguments: [String], limit: Duration = .seconds(15)) async throws -> CommandLine.Result {
        let process = ChildProcess()
        process.executableURL = CommandLine.executable
        process.arguments = arguments
        let output = NSTemporaryDirectory() + "aerosol-serve-" + UUID().uuidString
        _ = FileManager.default.createFile(atPath: output + ".out", contents: nil)
        _ = FileManager.default.createFile(atPath: output + ".err", contents: nil)
        defer {
            try? FileManager.default.removeItem(atPath: output + ".out")
            try? FileManager.default.removeItem(atPath: output + ".err")
        }
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: output + ".out"))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: output + ".err"))
        let exited = AsyncStream<Int32>.makeStream()
        process.terminationHandler = { exited.continuation.yield($0.terminationStatus) }
        try process.run()
        let status = try await withThrowingTaskGroup(of: Int32?.self) { group in
            group.addTask { await exited.stream.first { _ in true } }
            group.addTask {
                try await Task.sleep(for: limit)
                return nil
            }
            let first = try await group.next() ?? nil
            group.cancelAll()
            return first
        }
        guard let status else {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            throw TestFailure("aerosol \(arguments.joined(separator: " ")) still ran after \(limit)")
        }
        return CommandLine.Result(
            status: status,
            stdout: try String(contentsOfFile: output + ".out", encoding: .utf8),
            stderr: try String(contentsOfFile: output + ".err", encoding: .utf8)
        )
    }

    static func dataDirectory() throws -> String {
        let directory = TestServer.makeDataDirectory()
        try TestServer.installServerKey(in: directory)
        return directory
    }

    @Test func aBusyHTTPPortIsNamedInOneLine() async throws {
        let busy = try await HeldPort()
        let port = busy.port
        let directory = try Self.dataDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let result = try await Self.run([
            "serve", "--port", "\(port)", "--device-port", "0", "--udp-device-port", "0", "--data-dir", directory,
        ])
        await busy.release()
        #expect(result.status == 1)
        #expect(
            result.stderr
                == "aerosol: cannot listen for HTTP on 127.0.0.1:\(port): address already in use (choose another port with --port)\n"
        )
        #expect(result.stdout.isEmpty)
    }

    @Test func aBusyDevicePortIsNamedInOneLine() async throws {
        let busy = try await HeldPort()
        let port = busy.port
        let directory = try Self.dataDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let result = try await Self.run([
            "serve", "--port", "0", "--device-port", "\(port)", "--udp-device-port", "0", "--data-dir", directory,
        ])
        await busy.release()
        #expect(result.status == 1)
        #expect(
            result.stderr
                == "aerosol: cannot listen for devices (TCP) on 127.0.0.1:\(port): address already in use (choose another port with --device-port)\n"
        )
    }

    @Test func aBusyUDPDevicePortIsNamedInOneLine() async throws {
        let busy = try await HeldPort(udp: true)
        let port = busy.port
        let directory = try Self.dataDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let result = try await Self.run([
            "serve", "--port", "0", "--device-port", "0", "--udp-device-port", "\(port)", "--data-dir", directory,
        ])
        await busy.release()
        #expect(result.status == 1)
        #expect(
            result.stderr
                == "aerosol: cannot listen for devices (UDP) on 127.0.0.1:\(port): address already in use (choose another port with --udp-device-port)\n"
        )
    }

    @Test func aBusyMetricsPortIsNamedInOneLine() async throws {
        let busy = try await HeldPort()
        let port = busy.port
        let directory = try Self.dataDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let result = try await Self.run([
            "serve", "--port", "0", "--device-port", "0", "--udp-device-port", "0", "--metrics-port", "\(port)",
            "--data-dir", directory,
        ])
        await busy.release()
        #expect(result.status == 1)
        #expect(
            result.stderr
                == "aerosol: cannot listen for metrics on 127.0.0.1:\(port): address already in use (choose another port with --metrics-port)\n"
        )
    }

    /// The HTTP server binds last, once everything else runs: the port checks pass (the port is
    /// free until the device gateway takes it), and the HTTP server's own failure must still end
    /// the process with the one line, not hang it.
    @Test func anHTTPPortTakenAfterTheChecksStillEndsTheProcess() async throws {
        let port = try await TestServer.freePort()
        let directory = try Self.dataDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let result = try await Self.run([
            "serve", "--port", "\(port)", "--device-port", "\(port)", "--udp-device-port", "0", "--data-dir", directory,
            "--log-level", "error",
        ])
        #expect(result.status == 1)
        #expect(
            result.stderr
                == "aerosol: cannot listen for HTTP on 127.0.0.1:\(port): address already in use (choose another port with --port)\n"
        )
    }
}
