import AerosolModels
import Foundation
import NIOCore

/// The API's OpenAPI document as the server serves it (`GET /v1/openapi.json`): the JSON that
/// `.ci/openapi-json` generates from `docs/openapi.yaml`, read once from the module's resources.
struct OpenAPIDocument: Sendable {
    /// Why the document cannot be served.
    enum LoadError: Error, CustomStringConvertible {
        case missing
        case malformed(String)

        var description: String {
            switch self {
            case .missing:
                "the OpenAPI document is missing: keep aerosol_AerosolServer.resources beside the aerosol binary"
            case .malformed(let reason):
                "the OpenAPI document is not JSON (regenerate it with .ci/openapi-json): \(reason)"
            }
        }
    }

    /// The document's bytes.
    let bytes: ByteBuffer

    /// Reads the document and checks that it is JSON, so that a broken build fails at start.
    static func load() throws -> OpenAPIDocument {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "json") else {
            throw LoadError.missing
        }
        let data = try Data(contentsOf: url)
        do {
            _ = try JSONValue.parse(Array(data))
        } catch {
            throw LoadError.malformed("\(error)")
        }
        return OpenAPIDocument(bytes: ByteBuffer(bytes: data))
    }
}
