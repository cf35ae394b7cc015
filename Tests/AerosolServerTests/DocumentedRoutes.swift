import AerosolModels
import AerosolServer

/// The routes an OpenAPI document describes (`paths` and their methods, as `GET /v1/devices/{device}`)
/// and the ones it leaves out on purpose (`x-excluded-routes`), to hold against the server's
/// route table.
struct DocumentedRoutes {
    /// One entry of `x-excluded-routes`: a path (`/console/**` covers everything below
    /// `/console/`) and its methods.
    struct Exclusion: CustomStringConvertible {
        var path: String
        var methods: Set<String>

        func covers(_ route: String) -> Bool {
            let parts = route.split(separator: " ", maxSplits: 1).map(String.init)
            guard parts.count == 2, methods.contains(parts[0]) else { return false }
            if path.hasSuffix("/**") { return parts[1].hasPrefix(path.dropLast(2)) }
            return parts[1] == path
        }

        var description: String { "\(methods.sorted().joined(separator: ",")) \(path)" }
    }

    static let methods: Set<String> = ["get", "put", "post", "delete", "patch", "head", "options", "trace"]

    /// `METHOD /path` of every operation in `paths`.
    var operations: Set<String> = []
    var exclusions: [Exclusion] = []

    init(_ document: JSONValue) throws {
        guard case .object(let paths)? = document["paths"] else { throw TestFailure("the document has no paths") }
        for (path, item) in paths {
            guard case .object(let members) = item else { throw TestFailure("\(path) is not an object") }
            for (key, _) in members where Self.methods.contains(key) {
                operations.insert("\(key.uppercased()) \(path)")
            }
        }
        for entry in document["x-excluded-routes"]?["routes"]?.arrayValue ?? [] {
            guard let path = entry["path"]?.stringValue, let methods = entry["methods"]?.arrayValue else {
                throw TestFailure("an x-excluded-routes entry needs a path and methods")
            }
            exclusions.append(Exclusion(path: path, methods: Set(methods.compactMap(\.stringValue))))
        }
    }

    /// A registered route in the document's spelling: `:name` → `{name}`, and the catch-all
    /// `**` of the stream routes → `{prefix}`.
    static func spelling(_ route: RegisteredRoute) -> String {
        let segments = route.path.split(separator: "/", omittingEmptySubsequences: false).map { segment in
            if segment == "**" { return "{prefix}" }
            if segment.hasPrefix(":") { return "{\(segment.dropFirst())}" }
            return String(segment)
        }
        return "\(route.method) \(segments.joined(separator: "/"))"
    }

    /// Whether `x-excluded-routes` leaves this route (in the document's spelling) out.
    func excludes(_ route: String) -> Bool {
        exclusions.contains { $0.covers(route) }
    }
}
