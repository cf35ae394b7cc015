import AerosolStore

/// A server that has started listening.
public struct RunningServer: Sendable {
    /// The HTTP port it listens on.
    public let port: Int
    /// Its event log: appending here publishes to every stream, as a device would.
    public let log: EventLog
    /// The TCP port the device gateway listens on.
    public let devicePort: Int
    /// Every route its router has (what docs/openapi.yaml must describe).
    public let routes: [RegisteredRoute]

    /// Describes a running server.
    public init(port: Int, log: EventLog, devicePort: Int, routes: [RegisteredRoute] = []) {
        self.port = port
        self.log = log
        self.devicePort = devicePort
        self.routes = routes
    }
}
