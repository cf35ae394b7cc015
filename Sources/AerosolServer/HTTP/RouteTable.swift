import HTTPTypes
import Synchronization

/// A ``RouteTable`` shared between the registrar that fills it and the middleware that reads
/// it (middleware must exist before the routes it wraps).
final class SharedRouteTable: Sendable {
    private let table = Mutex(RouteTable())

    func add(_ path: String, _ method: HTTPRequest.Method, _ access: RouteAccess) {
        table.withLock { $0.add(path, method, access) }
    }

    func methods(for path: String) -> [HTTPRequest.Method] {
        table.withLock { $0.methods(for: path) }
    }

    /// Every registered route, in registration order.
    var routes: [RegisteredRoute] {
        table.withLock { $0.routes }
    }
}

/// One route of the API as registered: its pattern (`/v1/devices/:device`, `/**` for a
/// catch-all tail), method and who may call it.
public struct RegisteredRoute: Sendable, Hashable, CustomStringConvertible {
    /// The path pattern.
    public let path: String
    /// The method.
    public let method: HTTPRequest.Method
    /// Who may call it.
    public let access: RouteAccess

    public var description: String { "\(method) \(path)" }
}

/// The API's route patterns and their methods, to tell "no such route" (404) from "no such
/// method on this route" (405 with `Allow`), which Hummingbird's router does not distinguish.
struct RouteTable: Sendable {
    private(set) var routes: [RegisteredRoute] = []
    private var patterns: [(segments: [Substring], method: HTTPRequest.Method)] = []

    mutating func add(_ path: String, _ method: HTTPRequest.Method, _ access: RouteAccess) {
        routes.append(RegisteredRoute(path: path, method: method, access: access))
        patterns.append((path.split(separator: "/"), method))
    }

    /// The methods some route accepts for `path`; empty if no route matches it.
    func methods(for path: String) -> [HTTPRequest.Method] {
        let parts = path.split(separator: "/")
        var methods: [HTTPRequest.Method] = []
        for route in patterns where Self.matches(route.segments, parts) && !methods.contains(route.method) {
            methods.append(route.method)
        }
        return methods
    }

    private static func matches(_ pattern: [Substring], _ parts: [Substring]) -> Bool {
        for (index, segment) in pattern.enumerated() {
            if segment == "**" { return parts.count > index }
            guard index < parts.count else { return false }
            if segment.hasPrefix(":") { continue }
            if segment != parts[index] { return false }
        }
        return pattern.count == parts.count
    }
}
