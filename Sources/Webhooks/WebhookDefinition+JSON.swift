import AerosolModels

extension WebhookDefinition {
    /// The definition's fields in Particle's spelling, in a stable order, leaving out what is
    /// not set. It never holds the password or the secret; it is both what the store keeps and
    /// what listings show.
    public var fieldMembers: [(String, JSONValue)] {
        var members: [(String, JSONValue)] = [
            ("event", .string(event)),
            ("url", .string(url.source)),
            ("requestType", .string(requestType)),
        ]
        if let deviceID { members.append(("deviceID", .string(deviceID))) }
        if let name { members.append(("name", .string(name))) }
        if let json { members.append(("json", json.source)) }
        if let form { members.append(("form", Self.object(form))) }
        if let query { members.append(("query", Self.object(query))) }
        if let headers { members.append(("headers", Self.object(headers))) }
        if let body { members.append(("body", .string(body.source))) }
        if let authUsername { members.append(("auth", .object([("username", .string(authUsername.source))]))) }
        if let responseTemplate { members.append(("responseTemplate", .string(responseTemplate.source))) }
        if let responseTopic { members.append(("responseTopic", .string(responseTopic.source))) }
        if let errorResponseTopic { members.append(("errorResponseTopic", .string(errorResponseTopic.source))) }
        members.append(("noDefaults", .bool(noDefaults)))
        members.append(("rejectUnauthorized", .bool(rejectUnauthorized)))
        members.append(("disabled", .bool(disabled)))
        if let rateLimit { members.append(("rateLimit", .int(rateLimit))) }
        if unchunked { members.append(("unchunked", .bool(true))) }
        if dataURLResponseEvent { members.append(("dataUrlResponseEvent", .bool(true))) }
        return members
    }

    /// The compact JSON text the store keeps.
    public var storedText: String { JSONValue.object(fieldMembers).serialized }

    /// The target when the URL's scheme and host are fixed (not templated), to check it when
    /// the webhook is created; `nil` when only rendering will tell.
    public var fixedTarget: TargetURL? {
        let text = url.source
        guard let templateStart = text.range(of: "{{") else { return try? TargetURL.parse(text) }
        let fixed = text[..<templateStart.lowerBound]
        guard let schemeEnd = fixed.range(of: "://") else { return nil }
        let afterScheme = fixed[schemeEnd.upperBound...]
        guard let pathStart = afterScheme.firstIndex(where: { $0 == "/" || $0 == "?" }) else { return nil }
        return try? TargetURL.parse(String(fixed[..<pathStart]))
    }

    private static func object(_ pairs: [(String, WebhookTemplate)]) -> JSONValue {
        .object(pairs.map { ($0.0, .string($0.1.source)) })
    }
}
