import AerosolModels
import AerosolServer
import Foundation
import Hummingbird

extension FuzzTarget {
    /// A form body (UTF-8, as the server requires before parsing): every key's value is the
    /// first of its list; the fields, percent-encoded again, parse to the same fields; every
    /// accessor answers or throws a 400. Refusals are 400s with a message.
    func checkForm(_ input: [UInt8]) throws(PropertyViolation) -> Verdict {
        guard let text = String(validating: input, as: UTF8.self) else { return .rejected }
        let fields: RequestFields
        do {
            fields = try RequestFields.parseForm(text)
        } catch {
            try self.requireBadRequest(error)
            return .rejected
        }
        for (key, list) in fields.lists {
            try self.require(fields.values[key] == .string(list.first ?? ""), "\(key)'s value is not its first")
        }
        try self.require(Set(fields.values.keys) == Set(fields.lists.keys), "values and lists have other keys")
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        let encode = { (text: String) in text.addingPercentEncoding(withAllowedCharacters: allowed)! }
        let encoded = fields.lists.sorted { $0.key < $1.key }.flatMap { key, list in
            list.map { "\(encode(key))=\(encode($0))" }
        }.joined(separator: "&")
        let again: RequestFields
        do {
            again = try RequestFields.parseForm(encoded)
        } catch {
            throw self.violation("re-encoded fields do not parse: \(error)")
        }
        try self.require(again.lists == fields.lists, "the fields changed in the round trip")
        try self.exerciseAccessors(fields)
        return .accepted
    }

    /// A JSON body: only an object is accepted, and each key has the value of its last
    /// occurrence. Refusals are 400s with a message.
    func checkJSONBody(_ input: [UInt8]) throws(PropertyViolation) -> Verdict {
        let fields: RequestFields
        do {
            fields = try RequestFields.parseJSON(input)
        } catch {
            try self.requireBadRequest(error)
            return .rejected
        }
        guard case .object(let members)? = try? JSONValue.parse(input) else {
            throw self.violation("accepted a body that is not a JSON object")
        }
        var last: [String: JSONValue] = [:]
        for (key, value) in members { last[key] = value }
        try self.require(fields.values.count == last.count, "\(fields.values.count) fields of \(last.count) keys")
        for (key, value) in last {
            try self.require(fields.values[key] == value, "\(key) is not its last value")
        }
        try self.exerciseAccessors(fields)
        return .accepted
    }

    private func exerciseAccessors(_ fields: RequestFields) throws(PropertyViolation) {
        for key in fields.values.keys {
            _ = fields.has(key)
            _ = fields.string(key)
            _ = fields.text(key)
            _ = fields.list(key)
            do {
                _ = try fields.bool(key)
            } catch {
                try self.requireBadRequest(error)
            }
            do {
                _ = try fields.int(key)
            } catch {
                try self.requireBadRequest(error)
            }
        }
    }

    private func requireBadRequest(_ error: any Error) throws(PropertyViolation) {
        guard let error = error as? APIError else { throw self.violation("not an APIError: \(error)") }
        try self.require(error.status.code == 400, "answered \(error.status.code), not 400")
        try self.require(!error.message.isEmpty, "a 400 without a message")
    }
}
