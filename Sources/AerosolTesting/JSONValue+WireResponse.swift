import AerosolModels
import WireClient

extension JSONValue {
    /// Parses a response body.
    public init(_ response: WireResponse) throws {
        self = try JSONValue.parse(Array(response.body.readableBytesView))
    }
}
