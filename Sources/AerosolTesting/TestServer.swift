import AerosolModels
import AerosolServer
import AerosolStore
import DeviceGateway
import DeviceProtocol
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle
import WireClient

/// A real Aerosol server on 127.0.0.1, port 0, with its own data directory, for live tests.
public struct TestServer: Sendable {
    public let port: Int
    /// The device gateway's port.
    public let devicePort: Int
    /// The device gateway's UDP port (DTLS devices).
    public let udpDevicePort: Int
    public let dataDirectory: String
    /// The running server's event log (to publish as a device would).
    public let log: EventLog
    public let group: ServiceGroup
    /// Every route of the API, as registered.
    public let routes: [RegisteredRoute]

    /// Starts a graceful shutdown, as SIGTERM does.
    public func shutdown() async {
        await group.triggerGracefulShutdown()
    }

    public static let logger: Logger = {
        var logger = Logger(label: "aerosol-test")
        logger.logLevel = .error
        return logger
    }()

    /// A port that is free now (the system picks it), for a server that must come back on the
    /// same port after a restart.
    public static func freePort() async throws -> Int {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .bind(host: "127.0.0.1", port: 0)
            .get()
        let port = channel.localAddress?.port ?? 0
        try await channel.close()
        return port
    }

    /// One RSA-2048 server key per test process: generating one for every test server would
    /// cost far more CPU than the tests themselves.
    private static let sharedServerKeyPEM: String? = try? ServerKey.generate().pemRepresentation

    /// Writes the shared server key into `directory` unless it already holds one (a server
    /// started on that directory then need not generate its own RSA key, which takes seconds
    /// in a debug build).
    public static func installServerKey(in directory: String) throws {
        let files = try DataDirectory(path: directory)
        guard let pem = sharedServerKeyPEM, !FileManager.default.fileExists(atPath: files.serverKeyPath) else { return }
        _ = FileManager.default.createFile(
            atPath: files.serverKeyPath,
            contents: Data(pem.utf8),
            attributes: [.posixPermissions: 0o600]
        )
    }

    /// A fresh, empty data directory under the system's temporary directory.
    public static func makeDataDirectory() -> String {
        let path = NSTemporaryDirectory() + "aerosol-test-" + UUID().uuidString
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// Runs `body` against a server, then shuts the server down gracefully.
    ///
    /// The server has the default limits per client address (``ClientLimits``): every client of
    /// a test is 127.0.0.1, and each test server counts afresh. A test that opens more than 100
    /// streams or token requests sets `configure`'s `clientLimits` (`.off`, or its own).
    public static func with<T: Sendable>(
        dataDirectory: String? = nil,
        configure: (inout Configuration) -> Void = { _ in },
        _ body: @Sendable (TestServer) async throws -> T
    ) async throws -> T {
        var configuration = Configuration()
        configuration.port = 0
        configuration.devicePort = 0
        configuration.udpDevicePort = 0
        configuration.dataDirectory = dataDirectory ?? makeDataDirectory()
        configuration.synchronous = .normal
        configuration.bcryptCost = 4
        configure(&configuration)
        // A directory made here is removed afterwards; one passed in (restart tests) is kept.
        let ownedDirectory = dataDirectory == nil ? configuration.dataDirectory : nil
        let removeIfOwned = {
            guard let ownedDirectory else { return }
            try? FileManager.default.removeItem(atPath: ownedDirectory)
            await TestDatabases.drop(for: ownedDirectory)
        }
        try Self.installServerKey(in: configuration.dataDirectory)
        if configuration.databaseURL == nil {
            configuration.databaseURL = try await TestDatabases.url(for: configuration.dataDirectory)
            // Hundreds of test servers run at once on one PostgreSQL server.
            configuration.databaseConnections = 4
        }
        let (ports, portContinuation) = AsyncStream.makeStream(of: RunningServer.self)
        let app = try await buildApplication(configuration: configuration, logger: logger) { running in
            portContinuation.yield(running)
        }
        let group = ServiceGroup(
            configuration: .init(services: [app], gracefulShutdownSignals: [], logger: logger)
        )
        let directory = configuration.dataDirectory
        return try await withThrowingTaskGroup(of: Void.self, returning: T.self) { tasks in
            tasks.addTask { try await group.run() }
            var iterator = ports.makeAsyncIterator()
            guard let running = await iterator.next() else { throw TestFailure("server did not start") }
            let server = TestServer(
                port: running.port,
                devicePort: running.devicePort,
                udpDevicePort: running.udpDevicePort ?? 0,
                dataDirectory: directory,
                log: running.log,
                group: group,
                routes: running.routes
            )
            do {
                let result = try await body(server)
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
                await removeIfOwned()
                return result
            } catch {
                await group.triggerGracefulShutdown()
                try? await tasks.waitForAll()
                await removeIfOwned()
                throw error
            }
        }
    }

    /// A new connection to the server.
    public func connect() async throws -> WireConnection {
        try await WireConnection.connect(port: port)
    }

    /// One request on a new connection.
    public func request(
        _ method: HTTPMethod,
        _ path: String,
        headers: [(String, String)] = [],
        body: String? = nil
    ) async throws -> WireResponse {
        let connection = try await connect()
        do {
            let response = try await connection.request(method, path, headers: headers, body: body)
            await connection.close()
            return response
        } catch {
            await connection.close()
            throw error
        }
    }

    /// A form-encoded POST (or other method) with a bearer token.
    public func form(
        _ method: HTTPMethod,
        _ path: String,
        token: String?,
        _ fields: [(String, String)] = []
    ) async throws -> WireResponse {
        var headers = [("Content-Type", "application/x-www-form-urlencoded")]
        if let token { headers.append(("Authorization", "Bearer \(token)")) }
        return try await request(method, path, headers: headers, body: Self.formBody(fields))
    }

    /// A GET with a bearer token.
    public func get(_ path: String, token: String?) async throws -> WireResponse {
        try await request(.GET, path, headers: token.map { [("Authorization", "Bearer \($0)")] } ?? [])
    }

    public static func formBody(_ fields: [(String, String)]) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return fields.map {
            "\($0.0.addingPercentEncoding(withAllowedCharacters: allowed)!)=\($0.1.addingPercentEncoding(withAllowedCharacters: allowed)!)"
        }.joined(separator: "&")
    }

    /// Creates an account directly in the data directory, as `aerosol user create` does.
    public func createUser(_ email: String, password: String = "correct-horse") async throws {
        let database = try await TestDatabases.open(dataDirectory: dataDirectory, logger: Self.logger)
        do {
            _ = try await UserStore(database: database, bcryptCost: 4).create(email: email, password: password)
        } catch {
            await database.close()
            throw error
        }
        await database.close()
    }

    /// An access token from the password grant.
    public func login(_ email: String, password: String = "correct-horse", expiresIn: Int? = nil) async throws -> String
    {
        var fields = [("grant_type", "password"), ("username", email), ("password", password)]
        if let expiresIn { fields.append(("expires_in", String(expiresIn))) }
        let response = try await request(
            .POST,
            "/oauth/token",
            headers: [
                ("Content-Type", "application/x-www-form-urlencoded"),
                ("Authorization", "Basic " + Data("particle:particle".utf8).base64EncodedString()),
            ],
            body: Self.formBody(fields)
        )
        guard response.status == 200, let token = try JSONValue(response)["access_token"]?.stringValue else {
            throw TestFailure("login failed: \(response.status) \(response.text)")
        }
        return token
    }

    /// A new account and its token.
    public func user(_ email: String) async throws -> String {
        try await createUser(email)
        return try await login(email)
    }

    /// The id of the account behind a token.
    public func userID(token: String) async throws -> String {
        let database = try await TestDatabases.open(dataDirectory: dataDirectory, logger: Self.logger)
        let grant = try await TokenStore(
            database: database,
            secret: try ServerSecret.loadOrCreate(at: DataDirectory(path: dataDirectory).secretPath)
        ).lookup(token)
        await database.close()
        guard let grant else { throw TestFailure("unknown token") }
        return grant.userID
    }

    /// Publishes as a device would: straight into the event log, with the device's id.
    public func publishFromDevice(_ name: String, _ data: String, device: String, owner: String?, product: Int? = nil)
        async throws
    {
        _ = try await log.append(
            EventDraft(name: name, data: data, coreID: device, userID: owner, productID: product, productVersion: 3),
            source: .device
        )
    }

    /// Publishes to the caller's sandbox stream and expects `{"ok":true}`.
    public func publish(_ name: String, _ data: String? = nil, token: String, product: String? = nil) async throws {
        var fields = [("name", name)]
        if let data { fields.append(("data", data)) }
        let path = product.map { "/v1/products/\($0)/events" } ?? "/v1/devices/events"
        let response = try await form(.POST, path, token: token, fields)
        guard response.status == 200, response.text == #"{"ok":true}"# else {
            throw TestFailure("publish failed: \(response.status) \(response.text)")
        }
    }
}

/// A test's own failure with a message.
public struct TestFailure: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
