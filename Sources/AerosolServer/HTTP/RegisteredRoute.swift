/// A route the server registered: its method and its path pattern as the router spells it
/// (`:name` for a parameter, `**` for a catch-all tail), for tests that hold the route table
/// against docs/openapi.yaml.
public struct RegisteredRoute: Sendable, Hashable, CustomStringConvertible {
    /// The HTTP method (`GET`, `POST`…).
    public let method: String
    /// The path pattern, such as `/v1/devices/:device` or `/v1/events/**`.
    public let path: String

    /// Describes a route.
    public init(method: String, path: String) {
        self.method = method
        self.path = path
    }

    /// `METHOD /path`.
    public var description: String { "\(method) \(path)" }
}
