import AerosolStore

/// A server that has started listening.
public struct RunningServer: Sendable {
    /// The HTTP port it listens on.
    public let port: Int
    /// Its event log: appending here publishes to every stream, as a device would.
    public let log: EventLog
    /// The TCP port the device gateway listens on.
    public let devicePort: Int
    /// The UDP port the device gateway listens on for DTLS devices, if it does.
    public let udpDevicePort: Int?
    /// Every route of the API, as registered (for tests that must cover each one).
    public let routes: [RegisteredRoute]

    /// Describes a running server.
    public init(
        port: Int,
        log: EventLog,
        devicePort: Int,
        udpDevicePort: Int? = nil,
        routes: [RegisteredRoute] = []
    ) {
        self.port = port
        self.log = log
        self.devicePort = devicePort
        self.udpDevicePort = udpDevicePort
        self.routes = routes
    }
}
