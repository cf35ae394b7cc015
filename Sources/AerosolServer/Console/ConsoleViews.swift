import Foundation
import Hummingbird
import Mustache

/// The console's templates and static files, read once from the module's resources
/// (`Console/Resources`): Mustache templates render the pages, the static files (CSS and plain
/// JavaScript modules) are served from memory.
struct ConsoleViews: Sendable {
    struct Asset: Sendable {
        var contentType: String
        var bytes: ByteBuffer
    }

    let library: MustacheLibrary
    let assets: [String: Asset]

    /// Loads the templates and static files.
    ///
    /// - Throws: if the resources are missing (the `aerosol_AerosolServer.resources` folder must
    ///   stay beside the `aerosol` binary).
    static func load() async throws -> ConsoleViews {
        guard let root = Bundle.module.url(forResource: "Resources", withExtension: nil) else {
            throw ConsoleError.missingResources
        }
        let library = try await MustacheLibrary(directory: root.appendingPathComponent("templates").path)
        var assets: [String: Asset] = [:]
        let folder = root.appendingPathComponent("static")
        for name in try FileManager.default.contentsOfDirectory(atPath: folder.path) {
            let data = try Data(contentsOf: folder.appendingPathComponent(name))
            assets[name] = Asset(contentType: Self.contentType(of: name), bytes: ByteBuffer(bytes: data))
        }
        return ConsoleViews(library: library, assets: assets)
    }

    /// Renders `template` inside the layout.
    func page(_ template: String, _ values: [String: Any]) -> String {
        var values = values
        values["content"] = library.render(values, withTemplate: template) ?? ""
        return library.render(values, withTemplate: "layout") ?? ""
    }

    /// Renders a template on its own (the sign-in page has no navigation).
    func render(_ template: String, _ values: [String: Any]) -> String {
        library.render(values, withTemplate: template) ?? ""
    }

    private static func contentType(of name: String) -> String {
        switch name.split(separator: ".").last {
        case "css": "text/css; charset=utf-8"
        case "js": "text/javascript; charset=utf-8"
        case "svg": "image/svg+xml"
        default: "application/octet-stream"
        }
    }
}
