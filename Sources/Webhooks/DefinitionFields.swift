import AerosolModels

/// Typed access to the fields of a webhook definition, as they come from a JSON body, a form
/// body (every value a string) or the store; type errors name the field.
struct DefinitionFields {
    let values: [String: JSONValue]

    init(_ values: [String: JSONValue]) {
        self.values = values
    }

    /// The first of `keys` that is present and not `null`.
    func raw(_ keys: String...) -> (key: String, value: JSONValue)? {
        for key in keys {
            if let value = values[key], value != .null { return (key, value) }
        }
        return nil
    }

    /// Whether `key` is present (even as `null`).
    func has(_ key: String) -> Bool { values[key] != nil }

    func string(_ keys: String...) throws -> String? {
        guard let (key, value) = first(keys) else { return nil }
        switch value {
        case .string(let text): return text
        case .int, .double: return value.serialized
        default: throw WebhookError.invalid("\(key) must be a string")
        }
    }

    func bool(_ key: String) throws -> Bool? {
        switch values[key] {
        case nil, .null?: return nil
        case .bool(let flag)?: return flag
        case .int(let number)? where number == 0 || number == 1: return number == 1
        case .string(let text)?:
            switch text.lowercased() {
            case "true", "1": return true
            case "false", "0", "": return false
            default: break
            }
        default: break
        }
        throw WebhookError.invalid("\(key) must be true or false")
    }

    func int(_ key: String, range: ClosedRange<Int>) throws -> Int? {
        let number: Int?
        switch values[key] {
        case nil, .null?: return nil
        case .int(let value)?: number = Int(exactly: value)
        case .double(let value)?: number = Int(exactly: value)
        case .string(let text)?: number = Int(text)
        default: number = nil
        }
        guard let number, range.contains(number) else {
            throw WebhookError.invalid("\(key) must be an integer from \(range.lowerBound) to \(range.upperBound)")
        }
        return number
    }

    /// An object of string values (numbers and booleans become their JSON text), keeping the
    /// order given; a string holding a JSON object is accepted too (form bodies).
    func stringObject(_ key: String) throws -> [(String, String)]? {
        guard var value = values[key], value != .null else { return nil }
        if case .string(let text) = value {
            guard let parsed = try? JSONValue.parse(Array(text.utf8)) else {
                throw WebhookError.invalid("\(key) must be an object")
            }
            value = parsed
        }
        guard case .object(let members) = value else { throw WebhookError.invalid("\(key) must be an object") }
        return try members.map { name, member in
            switch member {
            case .string(let text): return (name, text)
            case .int, .double, .bool: return (name, member.serialized)
            case .null: return (name, "")
            default: throw WebhookError.invalid("\(key).\(name) must be a string")
            }
        }
    }

    private func first(_ keys: [String]) -> (String, JSONValue)? {
        for key in keys {
            if let value = values[key], value != .null { return (key, value) }
        }
        return nil
    }
}
