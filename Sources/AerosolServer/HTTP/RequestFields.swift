import AerosolModels
import Foundation
import Hummingbird
import NIOCore

/// The fields of a request body, read once with a size limit, from JSON or a form.
///
/// The Cloud API accepts both encodings on every endpoint; form values are strings,
/// JSON values keep their type, and the accessors accept either where the original does
/// (`"true"` or `true`, `"60"` or `60`). Package-wide so that the fuzz targets reach the parsers.
package struct RequestFields: Sendable {
    /// How the body was encoded.
    package enum Encoding: Sendable, Equatable {
        case none
        case form
        case json
    }

    package private(set) var values: [String: JSONValue] = [:]
    /// Repeated form keys (`ids[]=a&ids[]=b`) in order.
    package private(set) var lists: [String: [String]] = [:]
    /// How the body was encoded.
    package let encoding: Encoding

    static let empty = RequestFields(encoding: .none)

    private init(encoding: Encoding) {
        self.encoding = encoding
    }

    /// Reads and parses the body of `request`, refusing more than `limit` bytes.
    static func read(from request: inout Request, limit: Int) async throws -> RequestFields {
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw APIError.bodyTooLarge(limit: limit)
        }
        guard buffer.readableBytes > 0 else { return .empty }
        let bytes = buffer.readableBytesView
        let contentType = request.headers[.contentType]?.lowercased() ?? ""
        if contentType.hasPrefix("application/json") || (contentType.isEmpty && bytes.first == UInt8(ascii: "{")) {
            return try parseJSON(bytes)
        }
        if contentType.isEmpty || contentType.hasPrefix("application/x-www-form-urlencoded") {
            // Percent-encoded bytes must decode to UTF-8 (see `decodeFormComponent`); raw
            // bytes must be UTF-8 too, rather than turn into replacement characters.
            guard let text = String(validating: bytes, as: UTF8.self) else {
                throw APIError.badRequest("Malformed form body: it is not UTF-8")
            }
            return try parseForm(text)
        }
        throw APIError.resource(
            .unsupportedMediaType,
            "Unsupported content type \(contentType): send application/json or application/x-www-form-urlencoded"
        )
    }

    /// The fields of a JSON body, which must be an object; throws a 400 ``APIError`` otherwise.
    package static func parseJSON(_ bytes: some Collection<UInt8>) throws -> RequestFields {
        let value: JSONValue
        do {
            value = try JSONValue.parse(bytes)
        } catch {
            throw APIError.badRequest("Malformed JSON body: \(error)")
        }
        guard case .object(let members) = value else {
            throw APIError.badRequest("Malformed JSON body: expected an object")
        }
        var fields = RequestFields(encoding: .json)
        for (key, value) in members { fields.values[key] = value }
        return fields
    }

    /// The fields of a form body; throws a 400 ``APIError`` for bad percent-encoding.
    package static func parseForm(_ text: String) throws -> RequestFields {
        var fields = RequestFields(encoding: .form)
        for pair in text.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let key = decodeFormComponent(parts[0]) else {
                throw APIError.badRequest("Malformed form body: bad percent-encoding in \(parts[0].prefix(40))")
            }
            let rawValue = parts.count > 1 ? parts[1] : ""
            guard let value = decodeFormComponent(rawValue) else {
                throw APIError.badRequest("Malformed form body: bad percent-encoding in the value of \(key)")
            }
            if fields.values[key] == nil { fields.values[key] = .string(value) }
            fields.lists[key, default: []].append(value)
        }
        return fields
    }

    private static func decodeFormComponent(_ text: Substring) -> String? {
        text.replacingOccurrences(of: "+", with: " ").removingPercentEncoding
    }

    /// Whether the body had this field.
    package func has(_ key: String) -> Bool { values[key] != nil }

    /// A field as text: strings as they are, numbers and booleans as JSON text; `nil` if absent
    /// or `null`.
    package func string(_ key: String) -> String? {
        switch values[key] {
        case nil, .null?: nil
        case .string(let value)?: value
        case .bool(let value)?: value ? "true" : "false"
        case .int(let value)?: String(value)
        case let value?: value.serialized
        }
    }

    /// A field that must be text: a JSON string or a form value; `nil` for any other JSON type.
    package func text(_ key: String) -> String? {
        if case .string(let value)? = values[key] { return value }
        return nil
    }

    /// A boolean field: `true`/`false` or the strings `"true"`/`"false"`/`"1"`/`"0"`.
    package func bool(_ key: String) throws -> Bool? {
        switch values[key] {
        case nil, .null?: return nil
        case .bool(let value)?: return value
        case .int(let value)? where value == 0 || value == 1: return value == 1
        case .string(let value)?:
            switch value.lowercased() {
            case "true", "1": return true
            case "false", "0", "": return false
            default: break
            }
        default: break
        }
        throw APIError.badRequest("\(key) must be true or false")
    }

    /// An integer field given as a number or a string of digits.
    package func int(_ key: String) throws -> Int? {
        switch values[key] {
        case nil, .null?: return nil
        case .int(let value)?: if let int = Int(exactly: value) { return int }
        case .string(let value)?: if let int = Int(value) { return int }
        case .double(let value)?: if let int = Int(exactly: value) { return int }
        default: break
        }
        throw APIError.badRequest("\(key) must be an integer")
    }

    /// A list field: a JSON array of strings, repeated form keys (`key[]` or `key`), or one string.
    package func list(_ key: String) -> [String] {
        if encoding == .form {
            return (lists[key + "[]"] ?? []) + (lists[key] ?? [])
        }
        switch values[key] {
        case .array(let items)?: return items.compactMap { if case .string(let s) = $0 { s } else { nil } }
        case .string(let value)?: return [value]
        default: return []
        }
    }
}
