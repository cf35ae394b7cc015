import AerosolServer
import AerosolStore
import DeviceGateway
import Foundation

/// Several test servers on one PostgreSQL database, as nodes of one cloud behind a load
/// balancer: each has a data directory of its own holding the same secret and device keys.
/// Needs `AEROSOL_TEST_POSTGRES_URL` (the tests that use it are enabled only then).
public enum TestCluster {
    /// Runs `body` with `count` nodes, then stops them and drops their database.
    public static func with<T: Sendable>(
        nodes count: Int,
        configure: @escaping @Sendable (inout Configuration) -> Void = { _ in },
        _ body: @Sendable ([TestServer]) async throws -> T
    ) async throws -> T {
        let directories = (0..<count).map { _ in TestServer.makeDataDirectory() }
        defer { for directory in directories { try? FileManager.default.removeItem(atPath: directory) } }
        guard let url = try await TestDatabases.url(for: directories[0]) else {
            throw TestFailure("a cluster needs AEROSOL_TEST_POSTGRES_URL")
        }
        try shareFiles(from: directories[0], to: directories.dropFirst())
        do {
            let result = try await start(directories[...], url: url, configure: configure, started: [], body)
            await TestDatabases.drop(for: directories[0])
            return result
        } catch {
            await TestDatabases.drop(for: directories[0])
            throw error
        }
    }

    /// Runs `body` with two nodes on one database: the real `aerosol serve` in a child process,
    /// started first (so it leads webhook delivery), which the test may kill with SIGKILL, and
    /// a test server. The child gets `arguments` beside `--database`; its devices connect on
    /// the port given to `body`. Stops both and drops their database.
    public static func withKillableNode<T: Sendable>(
        arguments: [String] = [],
        configure: @escaping @Sendable (inout Configuration) -> Void = { _ in },
        _ body: @Sendable (_ child: KillableNode, _ server: TestServer) async throws -> T
    ) async throws -> T {
        let directories = [TestServer.makeDataDirectory(), TestServer.makeDataDirectory()]
        defer { for directory in directories { try? FileManager.default.removeItem(atPath: directory) } }
        guard let url = try await TestDatabases.url(for: directories[1]) else {
            throw TestFailure("a cluster needs AEROSOL_TEST_POSTGRES_URL")
        }
        try shareFiles(from: directories[1], to: [directories[0]])
        let node = KillableNode(port: try await TestServer.freePort(), devicePort: try await TestServer.freePort())
        do {
            node.process = try await ServerProcess.serve(
                port: node.port,
                directory: directories[0],
                devicePort: node.devicePort,
                arguments: ["--database", url] + arguments
            )
            let result = try await TestServer.with(
                dataDirectory: directories[1],
                configure: {
                    $0.databaseURL = url
                    $0.databaseConnections = 5
                    configure(&$0)
                }
            ) { server in
                try await body(node, server)
            }
            await node.kill()
            await TestDatabases.drop(for: directories[1])
            return result
        } catch {
            await node.kill()
            await TestDatabases.drop(for: directories[1])
            throw error
        }
    }

    /// The secret and both device keys of the first node, copied to the others.
    public static func shareFiles(from first: String, to others: some Sequence<String>) throws {
        let source = try DataDirectory(path: first)
        _ = try ServerSecret.loadOrCreate(at: source.secretPath)
        try TestServer.installServerKey(in: first)
        _ = try ECServerKeyFile.loadOrCreate(at: source.udpServerKeyPath)
        for other in others {
            let target = try DataDirectory(path: other)
            for (from, to) in [
                (source.secretPath, target.secretPath), (source.serverKeyPath, target.serverKeyPath),
                (source.udpServerKeyPath, target.udpServerKeyPath),
            ] {
                try? FileManager.default.removeItem(atPath: to)
                try FileManager.default.copyItem(atPath: from, toPath: to)
            }
        }
    }

    private static func start<T: Sendable>(
        _ directories: ArraySlice<String>,
        url: String,
        configure: @escaping @Sendable (inout Configuration) -> Void,
        started: [TestServer],
        _ body: @Sendable ([TestServer]) async throws -> T
    ) async throws -> T {
        guard let directory = directories.first else { return try await body(started) }
        return try await TestServer.with(
            dataDirectory: directory,
            configure: {
                $0.databaseURL = url
                $0.databaseConnections = 5
                configure(&$0)
            }
        ) { server in
            try await start(directories.dropFirst(), url: url, configure: configure, started: started + [server], body)
        }
    }
}

/// A node of a ``TestCluster`` running as a child process.
public final class KillableNode: @unchecked Sendable {
    /// Its HTTP port and TCP device port.
    public let port: Int
    public let devicePort: Int
    fileprivate var process: ChildProcess?

    fileprivate init(port: Int, devicePort: Int) {
        self.port = port
        self.devicePort = devicePort
    }

    /// Ends it with SIGKILL (nothing it does at a graceful stop happens) and waits until it has,
    /// on a thread of its own (blocking a thread of the concurrency pool, of which a 2-core
    /// machine has two, would stall the in-process node).
    public func kill() async {
        guard let process, process.isRunning else { return }
        process.signal(SIGKILL)
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            Thread.detachNewThread {
                process.waitUntilExit()
                continuation.resume()
            }
        }
    }
}
