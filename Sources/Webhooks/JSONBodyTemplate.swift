import AerosolModels

/// The `json` field of a webhook: an object whose strings are templates, or one template whose
/// rendering is the body (the string form, which allows unquoted numbers). Both render without
/// HTML escaping.
public struct JSONBodyTemplate: Sendable {
    indirect enum Node: Sendable {
        case literal(JSONValue)
        case string(WebhookTemplate)
        case array([Node])
        case object([(WebhookTemplate, Node)])
    }

    enum Form: Sendable {
        case text(WebhookTemplate)
        case tree(Node)
    }

    /// The field as given.
    public let source: JSONValue
    let form: Form

    /// Compiles the `json` field: an object or a string; throws for anything else or a bad template.
    public init(_ source: JSONValue) throws {
        self.source = source
        switch source {
        case .string(let text): form = .text(try WebhookTemplate(text, escaping: .none, field: "json"))
        case .object: form = .tree(try Self.compile(source, path: "json"))
        default: throw WebhookError.invalid("json must be an object or a string template")
        }
    }

    private static func compile(_ value: JSONValue, path: String) throws -> Node {
        switch value {
        case .string(let text): return .string(try WebhookTemplate(text, escaping: .none, field: path))
        case .array(let items):
            return .array(try items.enumerated().map { try compile($0.element, path: "\(path).\($0.offset)") })
        case .object(let members):
            return .object(
                try members.map { key, value in
                    (try WebhookTemplate(key, escaping: .none, field: path), try compile(value, path: "\(path).\(key)"))
                }
            )
        default: return .literal(value)
        }
    }

    /// The rendered body: for the object form, the object with `defaults` first (a key of the
    /// template replaces a default of the same name); for the string form, the text, merged
    /// the same way when it renders to a JSON object and there are defaults.
    func render(_ variables: TemplateVariables, defaults: [(String, String)]) -> String {
        switch form {
        case .tree(let node):
            return Self.merge(defaults, into: Self.render(node, variables)).serialized
        case .text(let template):
            let text = template.render(variables)
            guard !defaults.isEmpty, let parsed = try? JSONValue.parse(Array(text.utf8)), case .object = parsed
            else { return text }
            return Self.merge(defaults, into: parsed).serialized
        }
    }

    private static func merge(_ defaults: [(String, String)], into value: JSONValue) -> JSONValue {
        guard !defaults.isEmpty, case .object(let members) = value else { return value }
        var merged: [(String, JSONValue)] = defaults.map { ($0.0, .string($0.1)) }
        for (key, value) in members {
            if let index = merged.firstIndex(where: { $0.0 == key }) {
                merged[index].1 = value
            } else {
                merged.append((key, value))
            }
        }
        return .object(merged)
    }

    private static func render(_ node: Node, _ variables: TemplateVariables) -> JSONValue {
        switch node {
        case .literal(let value): value
        case .string(let template): .string(template.render(variables))
        case .array(let nodes): .array(nodes.map { render($0, variables) })
        case .object(let members): .object(members.map { ($0.0.render(variables), render($0.1, variables)) })
        }
    }
}
