import AerosolModels
import Foundation
import Mustache

/// The variables a webhook template sees: the predefined `PARTICLE_*`, `PRODUCT_*`
/// and legacy `SPARK_*` names, and, when the event data is a JSON object, its top-level keys
/// (`{{temp}}` for `{"temp":21}`; dotted paths and indices reach inside: `{{a.b}}`, `{{c.0.d}}`).
///
/// A predefined name wins over a data key of the same name, so event data cannot change which
/// device or event a template reports.
public struct TemplateVariables {
    let context: [String: Any]
    /// What the sections of this rendering may still iterate over arrays, in all.
    let budget: IterationBudget

    /// The most array items the templates of one request (or one response event) may iterate
    /// over, all sections together.
    public static let maximumIterations = 10_000

    /// The variables of `event`; `productFields` adds `PRODUCT_USER_ID` and `PRODUCT_VERSION`
    /// (product webhooks).
    public init(event: Event, productFields: Bool) {
        let budget = IterationBudget(Self.maximumIterations)
        var values: [String: Any] = [:]
        if let data = event.data, data.utf8.first == UInt8(ascii: "{"),
            case .object(let members)? = try? JSONValue.parse(Array(data.utf8))
        {
            for (key, value) in members where values[key] == nil { values[key] = Self.mustacheValue(value, budget) }
        }
        for (key, value) in Self.predefined(event, productFields: productFields) { values[key] = value }
        self.context = values
        self.budget = budget
    }

    /// Variables from a JSON value (a webhook response for `responseTemplate`), over `base`.
    init(json: JSONValue?, over base: TemplateVariables) {
        var values = base.context
        if case .object(let members)? = json {
            for (key, value) in members { values[key] = Self.mustacheValue(value, base.budget) }
        }
        self.context = values
        self.budget = base.budget
    }

    /// The predefined names and their values, as strings.
    public static func predefined(_ event: Event, productFields: Bool) -> [(String, String)] {
        let data = event.data ?? ""
        let published = Timestamp.format(event.publishedAt)
        var names: [(String, String)] = [
            ("PARTICLE_DEVICE_ID", event.coreID),
            ("PARTICLE_EVENT_NAME", event.name),
            ("PARTICLE_EVENT_VALUE", data),
            ("PARTICLE_PUBLISHED_AT", published),
            ("PARTICLE_EVENT_ID", String(event.id)),
            ("PARTICLE_EVENT_JSON", eventJSON(event)),
            ("PARTICLE_EVENT_BASE64", Data(data.utf8).base64EncodedString()),
            ("SPARK_CORE_ID", event.coreID),
            ("SPARK_EVENT_NAME", event.name),
            ("SPARK_EVENT_VALUE", data),
            ("SPARK_PUBLISHED_AT", published),
        ]
        if let product = event.productID { names.append(("PRODUCT_ID", String(product))) }
        if productFields {
            names.append(("PRODUCT_USER_ID", event.userID ?? ""))
            names.append(("PRODUCT_VERSION", event.productVersion.map(String.init) ?? ""))
        }
        return names
    }

    /// `PARTICLE_EVENT_JSON`: the whole event as one JSON object.
    static func eventJSON(_ event: Event) -> String {
        var members: [(String, JSONValue)] = [
            ("event", .string(event.name)),
            ("data", .string(event.data)),
            ("ttl", .int(event.ttl)),
            ("published_at", .string(Timestamp.format(event.publishedAt))),
            ("coreid", .string(event.coreID)),
        ]
        if let product = event.productID {
            members.append(("userid", .string(event.userID ?? "")))
            members.append(("version", .int(event.productVersion ?? 0)))
            members.append(("productID", .int(product)))
        }
        return JSONValue.object(members).serialized
    }

    static func mustacheValue(_ value: JSONValue, _ budget: IterationBudget) -> Any {
        switch value {
        case .null: NSNull()
        case .bool(let flag): flag
        case .string(let text): text
        case .int, .double: JSONText(text: value.serialized)
        case .array(let items): JSONList(items: items, budget: budget)
        case .object(let members): JSONObject(members: members, budget: budget)
        }
    }
}

/// A JSON number, rendered as its JSON text.
struct JSONText: MustacheCustomRenderable {
    let text: String
    var renderText: String { text }
    var isNull: Bool { false }
}

/// A JSON array: iterated by sections, indexed by `{{list.0}}`, rendered as its JSON text.
struct JSONList: MustacheSequence, MustacheParent, MustacheCustomRenderable {
    let items: [JSONValue]
    let budget: IterationBudget

    /// The items, as many as the rendering's budget still allows.
    func makeIterator() -> IndexingIterator<[Any]> {
        items.prefix(budget.take(items.count)).map { TemplateVariables.mustacheValue($0, budget) }.makeIterator()
    }

    func child(named name: String) -> Any? {
        guard let index = Int(name), items.indices.contains(index) else { return nil }
        return TemplateVariables.mustacheValue(items[index], budget)
    }

    var renderText: String { JSONValue.array(items).serialized }
    var isNull: Bool { false }
}

/// A JSON object: its keys are variables inside its section and after a dot; rendered as its
/// JSON text.
struct JSONObject: MustacheParent, MustacheCustomRenderable {
    let members: [(String, JSONValue)]
    let budget: IterationBudget

    func child(named name: String) -> Any? {
        members.first { $0.0 == name }.map { TemplateVariables.mustacheValue($0.1, budget) }
    }

    var renderText: String { JSONValue.object(members).serialized }
    var isNull: Bool { false }
}
