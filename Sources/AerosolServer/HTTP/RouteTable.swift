import HTTPTypes
import Synchronization

/// A ``RouteTable`` shared between the registrar that fills it and the middleware that reads
/// it (middleware must exist before the routes it wraps).
final class SharedRouteTable: Sendable {
    private let table = Mutex(RouteTable())

    func add(_ path: String, _ method: HTTPRequest.Method) {
        table.withLock { $0.add(path, method) }
    }

    func methods(for path: String) -> [HTTPRequest.Method] {
        table.withLock { $0.methods(for: path) }
    }

    /// Every route registered so far, in the order of registration.
    var all: [RegisteredRoute] {
        table.withLock { $0.all }
    }
}

/// The API's route patterns and their methods, to tell "no such route" (404) from "no such
/// method on this route" (405 with `Allow`), which Hummingbird's router does not distinguish.
struct RouteTable: Sendable {
    private var routes: [(segments: [Substring], method: HTTPRequest.Method)] = []

    mutating func add(_ path: String, _ method: HTTPRequest.Method) {
        routes.append((path.split(separator: "/"), method))
    }

    /// Every route as registered (`/v1/devices/:device`, `/v1/events/**`).
    var all: [RegisteredRoute] {
        routes.map { RegisteredRoute(method: $0.method.rawValue, path: "/" + $0.segments.joined(separator: "/")) }
    }

    /// The methods some route accepts for `path`; empty if no route matches it.
    func methods(for path: String) -> [HTTPRequest.Method] {
        let parts = path.split(separator: "/")
        var methods: [HTTPRequest.Method] = []
        for route in routes where Self.matches(route.segments, parts) && !methods.contains(route.method) {
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
