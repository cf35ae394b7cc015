import AerosolModels
import Foundation

extension WebhookDefinition {
    /// Validates and compiles a definition from request (or stored) fields.
    ///
    /// - Parameters:
    ///   - values: the fields; unknown ones (`mydevices`, `access_token`…) are ignored.
    ///   - product: whether it is a product webhook (which cannot name a device).
    /// - Throws: ``WebhookError/invalid(_:)`` with a message naming the field.
    public static func parse(_ values: [String: JSONValue], product: Bool) throws -> (WebhookDefinition, Secrets) {
        let fields = DefinitionFields(values)
        guard let event = try fields.string("event", "eventName"), !event.isEmpty else {
            throw WebhookError.invalid("event is required: the event name prefix that triggers the webhook")
        }
        if let problem = EventName.problem(withPrefix: event, what: "event") { throw WebhookError.invalid(problem) }
        guard let urlText = try fields.string("url")?.trimmingCharacters(in: .whitespaces), !urlText.isEmpty else {
            throw WebhookError.invalid("url is required: the address to call")
        }
        guard urlText.utf8.count <= 2048 else { throw WebhookError.invalid("url must have at most 2048 characters") }
        let url = try WebhookTemplate(urlText, field: "url")
        try checkURLShape(urlText)

        let method = (try fields.string("requestType", "method") ?? "POST").uppercased()
        guard requestTypes.contains(method) else {
            throw WebhookError.invalid(
                "requestType must be GET, POST, PUT, DELETE or PATCH (got \(try fields.string("requestType", "method") ?? ""))"
            )
        }

        var deviceID = try fields.string("deviceID", "deviceid", "deviceId")?.lowercased()
        if deviceID == "" || deviceID == "any" || deviceID == "mine" { deviceID = nil }
        if let id = deviceID {
            guard !product else { throw WebhookError.invalid("deviceID applies to sandbox webhooks only") }
            guard Device.isValidID(id) else {
                throw WebhookError.invalid("deviceID must be a device ID (24 hex characters), got \(id)")
            }
        }

        let given = ["json", "form", "body"].filter { fields.raw($0) != nil }
        guard given.count <= 1 else {
            throw WebhookError.invalid(
                "json, form and body are mutually exclusive: give at most one (got \(given.joined(separator: " and ")))"
            )
        }
        let json = try fields.raw("json").map { try JSONBodyTemplate($0.value) }
        let body = try fields.raw("body").map { raw -> WebhookTemplate in
            guard case .string(let text) = raw.value else { throw WebhookError.invalid("body must be a string") }
            return try WebhookTemplate(text, field: "body")
        }
        let form = try templates(fields.stringObject("form"), field: "form")
        let query = try templates(fields.stringObject("query"), field: "query")
        let headers = try templates(fields.stringObject("headers"), field: "headers")
        for (name, _) in headers ?? [] { try checkHeaderName(name) }

        var authUsername: WebhookTemplate?
        var password: String?
        if let auth = try fields.stringObject("auth") {
            let lookup = Dictionary(auth, uniquingKeysWith: { first, _ in first })
            guard let user = lookup["username"] else {
                throw WebhookError.invalid("auth must have a username (and a password): {\"username\",\"password\"}")
            }
            authUsername = try WebhookTemplate(user, field: "auth.username")
            if let secret = lookup["password"], !secret.isEmpty {
                _ = try WebhookTemplate(secret, field: "auth.password")
                password = secret
            }
        }

        let secret: Secrets.Change
        if !fields.has("secret") {
            secret = .keep
        } else if let text = try fields.string("secret"), !text.isEmpty {
            guard (16...256).contains(text.utf8.count) else {
                throw WebhookError.invalid("secret must have 16 to 256 characters")
            }
            secret = .set(text)
        } else {
            secret = .remove
        }

        let definition = WebhookDefinition(
            event: event,
            url: url,
            requestType: method,
            deviceID: deviceID,
            json: json,
            form: form,
            query: query,
            headers: headers,
            body: body,
            authUsername: authUsername,
            responseTemplate: try fields.string("responseTemplate").map {
                try WebhookTemplate($0, field: "responseTemplate")
            },
            responseTopic: try nonEmpty(fields.string("responseTopic")).map {
                try WebhookTemplate($0, field: "responseTopic")
            },
            errorResponseTopic: try nonEmpty(fields.string("errorResponseTopic")).map {
                try WebhookTemplate($0, field: "errorResponseTopic")
            },
            noDefaults: try fields.bool("noDefaults") ?? false,
            rejectUnauthorized: try fields.bool("rejectUnauthorized") ?? true,
            disabled: try fields.bool("disabled") ?? false,
            name: try nonEmpty(fields.string("name")),
            rateLimit: try fields.int("rateLimit", range: 0...60_000),
            unchunked: try fields.bool("unchunked") ?? false,
            dataURLResponseEvent: try fields.bool("dataUrlResponseEvent") ?? false
        )
        return (definition, Secrets(password: password, secret: secret))
    }

    /// Reads a definition back from its stored JSON text.
    public init(stored text: String, product: Bool) throws {
        guard case .object(let members)? = try? JSONValue.parse(Array(text.utf8)) else {
            throw WebhookError.invalid("stored webhook definition is not a JSON object")
        }
        self = try Self.parse(Dictionary(members, uniquingKeysWith: { first, _ in first }), product: product).0
    }

    private static func templates(_ pairs: [(String, String)]?, field: String) throws -> [(String, WebhookTemplate)]? {
        try pairs?.map { key, value in (key, try WebhookTemplate(value, field: "\(field).\(key)")) }
    }

    private static func nonEmpty(_ text: String?) -> String? {
        text?.isEmpty == false ? text : nil
    }

    /// The URL must be http(s); when its host is not templated, it must parse.
    private static func checkURLShape(_ text: String) throws {
        let fixed = text.range(of: "{{").map { String(text[..<$0.lowerBound]) } ?? text
        if fixed.count == text.count {
            _ = try TargetURL.parse(text)
            return
        }
        let lower = fixed.lowercased()
        guard !fixed.isEmpty else { return }
        guard
            "http://".hasPrefix(lower) || "https://".hasPrefix(lower) || lower.hasPrefix("http://")
                || lower.hasPrefix("https://")
        else {
            throw WebhookError.invalid("url must be an http:// or https:// URL (got \"\(text.prefix(80))\")")
        }
    }

    private static let forbiddenHeaders: Set<String> = ["host", "content-length", "transfer-encoding", "connection"]

    private static func checkHeaderName(_ name: String) throws {
        let token = Set("!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
        guard !name.isEmpty, name.allSatisfy({ token.contains($0) }) else {
            throw WebhookError.invalid("headers: \"\(name.prefix(60))\" is not a valid header name")
        }
        guard !forbiddenHeaders.contains(name.lowercased()) else {
            throw WebhookError.invalid("headers: \(name) is set by the server and cannot be given")
        }
    }
}
