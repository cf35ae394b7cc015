import AerosolStore

/// A server that has started listening.
public struct RunningServer: Sendable {
    /// The HTTP port it listens on.
    public let port: Int
    /// Its event log: appending here publishes to every stream, as a device would.
    public let log: EventLog
}
