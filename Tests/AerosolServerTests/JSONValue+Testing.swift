import AerosolModels
import WireClient

extension JSONValue {
    /// Parses a response body.
    init(_ response: WireResponse) throws {
        self = try JSONValue.parse(Array(response.body.readableBytesView))
    }

    var stringValue: String? {
        if case .string(let value) = self { value } else { nil }
    }

    var intValue: Int64? {
        if case .int(let value) = self { value } else { nil }
    }

    var arrayValue: [JSONValue]? {
        if case .array(let value) = self { value } else { nil }
    }
}
