import Foundation
import NIOCore
import NIOPosix
import WireClient

/// A server started for one benchmark: this same executable run as a child process,
/// `serve --port <free port> --device-port <another free port> --data-dir <fresh temporary
/// directory> --log-level warning`, with an account, a token and a product (slug `bench`) made
/// for the benchmark.
///
/// Use ``run(_:body:)``: it stops the server (SIGTERM) and removes the directory however the
/// body ends.
public final class BenchServer {
    /// The port it listens on (127.0.0.1).
    public let port: Int
    /// The port its device gateway listens on (127.0.0.1).
    public let devicePort: Int
    /// The UDP port its DTLS device gateway listens on (127.0.0.1).
    public let udpDevicePort: Int
    /// The bench account's token (`expires_in=0`, never expires).
    public internal(set) var token = ""
    /// The slug of the bench product.
    public let product = "bench"
    /// The server's process id.
    public var pid: Int32 { process.processIdentifier }

    static let email = "bench@example.com"
    static let password = "bench-password"

    private let process: Process
    private let directory: URL

    private init(process: Process, directory: URL, port: Int, devicePort: Int, udpDevicePort: Int) {
        self.process = process
        self.directory = directory
        self.port = port
        self.devicePort = devicePort
        self.udpDevicePort = udpDevicePort
    }

    /// The server's RSA key (PEM) in its data directory, written by the server when it starts.
    public var serverKeyPath: String { directory.appendingPathComponent("server-key.pem").path }

    /// The server's EC P-256 key (PEM) for UDP devices in its data directory, written by the
    /// server when it starts.
    public var udpServerKeyPath: String { directory.appendingPathComponent("server-key-ec.pem").path }

    /// Starts a server with `options`, runs `body` with it, then stops it and deletes its data.
    /// With `first` (both on one PostgreSQL database), the server is a second node of `first`'s
    /// cloud: it gets `first`'s secret and device keys, and uses its account and product.
    public static func run<Result>(
        _ options: ServerOptions,
        joining first: BenchServer? = nil,
        body: (BenchServer) async throws -> Result
    ) async throws -> Result {
        let executable = try executablePath()
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("aerosol-bench-\(UUID().uuidString.prefix(8).lowercased())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }

        if let first {
            for name in ["server-secret.key", "server-key.pem", "server-key-ec.pem"] {
                try FileManager.default.copyItem(
                    at: first.directory.appendingPathComponent(name),
                    to: directory.appendingPathComponent(name)
                )
            }
        } else {
            try await runToCompletion(
                executable,
                ["user", "create", email, "--password", password, "--data-dir", directory.path]
                    + (options.database.map { ["--database", $0] } ?? [])
            )
        }
        let port = try await freePort()
        var devicePort = try await freePort()
        while devicePort == port { devicePort = try await freePort() }
        let udpDevicePort = try await freeUDPPort()
        let process = makeProcess(
            executable,
            [
                "serve", "--host", "127.0.0.1", "--port", String(port), "--device-port", String(devicePort),
                "--udp-device-port", String(udpDevicePort),
                "--data-dir", directory.path,
            ]
                + ["--log-level", "warning"] + options.arguments
        )
        try process.run()
        let server = BenchServer(
            process: process,
            directory: directory,
            port: port,
            devicePort: devicePort,
            udpDevicePort: udpDevicePort
        )
        do {
            try await server.waitUntilHealthy()
            try await server.prepare(createProduct: first == nil)
            let result = try await body(server)
            await server.stop()
            return result
        } catch {
            await server.stop()
            throw error
        }
    }

    /// The server's resident memory (`VmRSS` in `/proc/<pid>/status`), in KiB.
    public func residentKiB() throws -> Int {
        try ProcessMemory.residentKiB(pid: pid)
    }

    /// Sends SIGTERM and waits up to 10 s for the server to exit, then kills it.
    func stop() async {
        guard process.isRunning else { return }
        process.terminate()
        if await !Self.waitForExit(process, seconds: 10) {
            kill(process.processIdentifier, SIGKILL)
            _ = await Self.waitForExit(process, seconds: 5)
        }
    }

    private func waitUntilHealthy() async throws {
        let start = MonotonicClock.nanoseconds()
        while MonotonicClock.seconds(since: start) < 30 {
            guard process.isRunning else {
                throw BenchError("the server exited with status \(process.terminationStatus) before listening")
            }
            if let connection = try? await WireConnection.connect(port: port) {
                let response = try? await connection.request(.GET, "/healthz")
                await connection.close()
                if let response, response.status == 200, response.text.contains(#""ok":true"#) { return }
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw BenchError("the server did not answer /healthz within 30 s")
    }

    /// The absolute path of the running executable.
    static func executablePath() throws -> String {
        #if os(Linux)
            if let path = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") { return path }
        #endif
        let argument = CommandLine.arguments[0]
        if argument.hasPrefix("/") { return argument }
        if argument.contains("/") {
            return URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
                .appendingPathComponent(argument).standardizedFileURL.path
        }
        let directories = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":")
        for directory in directories {
            let candidate = "\(directory)/\(argument)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw BenchError("cannot find the path of this executable (\(argument))")
    }

    static func makeProcess(_ executable: String, _ arguments: [String]) -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        // The benchmark sets every option it relies on; AEROSOL_* variables must not change them.
        process.environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("AEROSOL_") }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        return process
    }

    private static func runToCompletion(_ executable: String, _ arguments: [String]) async throws {
        let process = makeProcess(executable, arguments)
        try process.run()
        guard await waitForExit(process, seconds: 60) else {
            process.terminate()
            throw BenchError("\(arguments.prefix(2).joined(separator: " ")) did not finish within 60 s")
        }
        guard process.terminationStatus == 0 else {
            throw BenchError(
                "\(arguments.prefix(2).joined(separator: " ")) failed with status \(process.terminationStatus)"
            )
        }
    }

    static func waitForExit(_ process: Process, seconds: Double) async -> Bool {
        let start = MonotonicClock.nanoseconds()
        while process.isRunning {
            if MonotonicClock.seconds(since: start) >= seconds { return false }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return true
    }

    /// A port nobody listens on now: bind port 0 on 127.0.0.1, read it, release it.
    static func freePort() async throws -> Int {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0).get()
        let port = channel.localAddress?.port
        try await channel.close()
        guard let port else { throw BenchError("could not find a free port") }
        return port
    }

    /// A UDP port nobody has bound now: bind port 0 on 127.0.0.1, read it, release it.
    static func freeUDPPort() async throws -> Int {
        let channel = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0).get()
        let port = channel.localAddress?.port
        try await channel.close()
        guard let port else { throw BenchError("could not find a free UDP port") }
        return port
    }
}
