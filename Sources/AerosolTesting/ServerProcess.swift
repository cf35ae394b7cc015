import Foundation
import WireClient

/// The real `aerosol` executable as a child process: the tests that need a server they can
/// kill with SIGKILL, or its command line as a user types it.
public enum ServerProcess {
    /// The `aerosol` binary that `swift build` put beside the test bundle.
    public static var executable: URL {
        URL(fileURLWithPath: ProcessInfo.processInfo.arguments[0]).deletingLastPathComponent()
            .appendingPathComponent("aerosol")
    }

    /// Starts `aerosol serve` on `port` with `directory` (and more `arguments`, and `environment`
    /// variables beside the test's own) and waits until it answers `GET /healthz`. Devices
    /// connect on `devicePort` (TCP; 0: a free one).
    public static func serve(
        port: Int,
        directory: String,
        devicePort: Int = 0,
        arguments: [String] = [],
        environment: [String: String] = [:]
    ) async throws -> ChildProcess {
        let process = ChildProcess()
        process.executableURL = executable
        process.arguments =
            [
                "serve", "--port", String(port), "--device-port", String(devicePort), "--udp-device-port", "0",
                "--data-dir",
                directory, "--log-level", "error",
            ] + arguments
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        try process.run()
        // A raw connection each time: it fails at once while nothing listens, and no connection
        // pool's state from a killed server's time is involved.
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline, process.isRunning {
            if let connection = try? await WireConnection.connect(port: port) {
                let answer = try? await connection.request(.GET, "/healthz")
                await connection.close()
                if answer?.status == 200 { return process }
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        process.terminate()
        process.waitUntilExit()
        throw TestFailure("aerosol serve did not answer on port \(port)")
    }
}
