import AerosolModels
import Foundation
import Testing
import WireClient

@Suite("docs/openapi.yaml against the router", .timeLimit(.minutes(1)))
struct OpenAPITests {
    /// The repository's root, from this file's place in it.
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// Every route the router has is in the document (or excluded there on purpose), and every
    /// operation of the document is a route the router has.
    @Test func documentHasEveryRouteAndNoOther() async throws {
        try await TestServer.with { server in
            let response = try await server.request(.GET, "/v1/openapi.json")
            #expect(response.status == 200)
            #expect(response.header("Content-Type") == "application/json")
            let documented = try DocumentedRoutes(try JSONValue(response))
            let registered = Set(server.routes.map(DocumentedRoutes.spelling))
            #expect(registered.contains("GET /v1/openapi.json"))

            let undocumented = registered.filter { !documented.operations.contains($0) && !documented.excludes($0) }
            #expect(undocumented.isEmpty, "routes missing from docs/openapi.yaml: \(undocumented.sorted())")
            let phantoms = documented.operations.subtracting(registered)
            #expect(phantoms.isEmpty, "operations in docs/openapi.yaml that no route serves: \(phantoms.sorted())")
            let stale = documented.exclusions.filter { exclusion in !registered.contains { exclusion.covers($0) } }
            #expect(stale.isEmpty, "x-excluded-routes entries that match no route: \(stale)")
            let both = documented.operations.filter(documented.excludes)
            #expect(both.isEmpty, "operations both documented and excluded: \(both.sorted())")
        }
    }

    /// The served JSON is generated from docs/openapi.yaml (`.ci/openapi-json`, which CI runs
    /// with `--check` for the whole document); this catches the common slip without a YAML
    /// parser: a path or method added to the YAML but not regenerated.
    @Test func generatedJSONHasTheYAMLsOperations() throws {
        let yaml = try String(contentsOf: Self.root.appendingPathComponent("docs/openapi.yaml"), encoding: .utf8)
        let json = try Data(contentsOf: Self.root.appendingPathComponent("Sources/AerosolServer/OpenAPI/openapi.json"))
        let generated = try DocumentedRoutes(try JSONValue.parse(Array(json))).operations
        let written = Self.operations(inYAML: yaml)
        let onlyInYAML = written.subtracting(generated).sorted()
        let onlyInJSON = generated.subtracting(written).sorted()
        #expect(
            onlyInYAML.isEmpty && onlyInJSON.isEmpty,
            "run .ci/openapi-json: only in the YAML \(onlyInYAML), only in openapi.json \(onlyInJSON)"
        )
    }

    /// `METHOD /path` of the YAML's `paths`, read by indentation (two spaces for a path, four for
    /// a method).
    static func operations(inYAML text: String) -> Set<String> {
        var operations: Set<String> = []
        var inPaths = false
        var path: String?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if !line.hasPrefix(" ") && !line.isEmpty {
                inPaths = line == "paths:"
                continue
            }
            guard inPaths, line.hasSuffix(":") else { continue }
            if line.hasPrefix("  /") {
                path = String(line.dropFirst(2).dropLast())
            } else if line.hasPrefix("    "), !line.hasPrefix("     "), let path {
                let key = String(line.dropFirst(4).dropLast())
                if DocumentedRoutes.methods.contains(key) { operations.insert("\(key.uppercased()) \(path)") }
            }
        }
        return operations
    }
}
