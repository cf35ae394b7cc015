import Foundation
import NIOCore
import NIOPosix

/// nginx with the nchan module, started for `aerosol bench compare` as the reference: two
/// workers, the configuration in `Resources/nchan-nginx.conf` (one channel, EventSource
/// subscribers on `/sub?id=…`, publishers on `/pub?id=…`), in a fresh runtime directory.
///
/// Use ``run(nginx:module:body:)``: it stops nginx and removes the directory however the body
/// ends. Install it with `apt-get install nginx libnginx-mod-nchan` (Debian).
final class NchanServer {
    /// The port it listens on (127.0.0.1).
    let port: Int
    /// The channel the benchmark publishes to and subscribes on.
    let channel = "bench"
    private let process: Process

    private init(process: Process, port: Int) {
        self.process = process
        self.port = port
    }

    /// Where Debian installs them.
    static let defaultNginx = "/usr/sbin/nginx"
    static let defaultModule = "/usr/lib/nginx/modules/ngx_nchan_module.so"

    /// Starts nginx with `module`, runs `body`, then stops nginx.
    static func run<Result>(nginx: String, module: String, body: (NchanServer) async throws -> Result)
        async throws -> Result
    {
        guard FileManager.default.isExecutableFile(atPath: nginx), FileManager.default.fileExists(atPath: module)
        else {
            throw BenchError(
                "nginx (\(nginx)) or its nchan module (\(module)) is missing: install them with "
                    + "`apt-get install nginx libnginx-mod-nchan`, or name them with --nginx and --nchan-module"
            )
        }
        guard
            let template = Bundle.module.url(
                forResource: "nchan-nginx",
                withExtension: "conf",
                subdirectory: "Resources"
            )
        else { throw BenchError("the nchan configuration is missing from the aerosol_AerosolBench.resources folder") }
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("aerosol-nchan-\(UUID().uuidString.prefix(8).lowercased())")
        try FileManager.default.createDirectory(
            at: directory,
            withIntermediateDirectories: true,
            attributes: [.posixPermissions: 0o755]
        )
        defer { try? FileManager.default.removeItem(at: directory) }
        let port = try await BenchServer.freePort()
        let configuration = try String(contentsOf: template, encoding: .utf8)
            .replacingOccurrences(of: "@PORT@", with: String(port))
            .replacingOccurrences(of: "@RUNDIR@", with: directory.path)
            .replacingOccurrences(of: "@MODULE@", with: module)
        let configPath = directory.appendingPathComponent("nginx.conf").path
        try configuration.write(toFile: configPath, atomically: true, encoding: .utf8)
        let process = BenchServer.makeProcess(
            nginx,
            [
                "-c", configPath, "-p", directory.path, "-e", directory.appendingPathComponent("error.log").path,
                "-g", "daemon off;",
            ]
        )
        try process.run()
        let server = NchanServer(process: process, port: port)
        do {
            try await server.waitUntilListening()
            let result = try await body(server)
            await server.stop()
            return result
        } catch {
            await server.stop()
            throw error
        }
    }

    /// nginx's master process id.
    var pid: Int32 { process.processIdentifier }

    /// The resident memory of nginx's master `master` and its workers, in KiB.
    static func residentKiB(master: Int32) throws -> Int {
        try ([master] + ProcessMemory.children(of: master)).reduce(0) { $0 + (try ProcessMemory.residentKiB(pid: $1)) }
    }

    /// Stops nginx (SIGQUIT: graceful), killing it after 10 s.
    func stop() async {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGQUIT)
        if await !BenchServer.waitForExit(process, seconds: 10) {
            kill(process.processIdentifier, SIGKILL)
            _ = await BenchServer.waitForExit(process, seconds: 5)
        }
    }

    private func waitUntilListening() async throws {
        let start = MonotonicClock.nanoseconds()
        while MonotonicClock.seconds(since: start) < 20 {
            guard process.isRunning else {
                throw BenchError("nginx exited with status \(process.terminationStatus) before listening")
            }
            if let channel = try? await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connect(host: "127.0.0.1", port: port).get()
            {
                try? await channel.close()
                return
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw BenchError("nginx did not listen on port \(port) within 20 s")
    }
}
