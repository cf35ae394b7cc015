import AerosolModels
import Foundation

/// Builds the request a webhook makes for an event, exactly as the original does.
///
/// Unless `noDefaults` is set, the default fields `event`, `data`, `published_at`, `coreid`
/// (and for product webhooks `userid`, `fw_version`, `productID`) go to exactly one place:
/// merged into the `json` body when there is one; into the `form` fields when there are some;
/// nowhere with a raw `body`; otherwise into the query string for `GET` and a form body for
/// the other methods. A key given in `json`/`form`/`query` replaces a default of the same name.
public enum RequestRenderer {
    /// The `User-Agent` of every webhook request, as the original sends it.
    public static let userAgent = "ParticleBot/1.1 (https://docs.particle.io/webhooks)"

    /// Renders `definition` for `event`.
    ///
    /// - Parameters:
    ///   - password: the Basic-auth password template, if `auth` has one.
    ///   - productFields: whether it is a product webhook (adds the product default fields).
    /// - Throws: ``WebhookError/invalid(_:)`` when the rendered URL is not a usable http(s) URL.
    public static func render(
        _ definition: WebhookDefinition,
        password: String?,
        event: Event,
        productFields: Bool
    ) throws -> RenderedRequest {
        let variables = TemplateVariables(event: event, productFields: productFields)
        let isGET = definition.requestType == "GET"
        let defaults = definition.noDefaults ? [] : defaultFields(event, productFields: productFields)
        let rendered = { (pairs: [(String, WebhookTemplate)]?) in
            (pairs ?? []).map { ($0.0, $0.1.render(variables)) }
        }
        let form = rendered(definition.form)
        let query = rendered(definition.query)

        var queryPairs = query
        var body: String?
        var contentType: [RenderedRequest.Header] = []
        if let json = definition.json {
            body = json.render(variables, defaults: defaults)
            contentType = [.init("content-type", "application/json"), .init("accept", "application/json")]
        } else if definition.form != nil {
            let fields = FormEncoding.merge(defaults, form)
            if isGET {
                queryPairs = FormEncoding.merge(query, fields)
            } else {
                body = FormEncoding.encode(fields)
                contentType = [.init("content-type", "application/x-www-form-urlencoded")]
            }
        } else if let template = definition.body {
            body = template.render(variables)
        } else if isGET {
            queryPairs = FormEncoding.merge(defaults, query)
        } else if !defaults.isEmpty {
            body = FormEncoding.encode(defaults)
            contentType = [.init("content-type", "application/x-www-form-urlencoded")]
        }

        let url = try TargetURL.parse(definition.url.render(variables)).appending(
            query: FormEncoding.encode(queryPairs)
        )
        var headers: [RenderedRequest.Header] = [.init("User-Agent", userAgent), .init("host", url.hostHeader)]
        headers += contentType
        if let user = definition.authUsername {
            let secret = (try? password.map { try WebhookTemplate($0, field: "auth.password") })??.render(variables)
            let credentials = "\(user.render(variables)):\(secret ?? "")"
            headers.append(.init("Authorization", "Basic " + Data(credentials.utf8).base64EncodedString()))
        }
        for (name, template) in definition.headers ?? [] {
            let value = template.render(variables).filter { $0 != "\r" && $0 != "\n" }
            if let index = headers.firstIndex(where: { $0.name.lowercased() == name.lowercased() }) {
                headers[index] = .init(name, value)
            } else {
                headers.append(.init(name, value))
            }
        }
        return RenderedRequest(method: definition.requestType, url: url, headers: headers, body: body)
    }

    /// The default fields, in the original's order.
    static func defaultFields(_ event: Event, productFields: Bool) -> [(String, String)] {
        var fields = [
            ("event", event.name),
            ("data", event.data ?? ""),
            ("published_at", Timestamp.format(event.publishedAt)),
            ("coreid", event.coreID),
        ]
        if productFields {
            fields.append(("userid", event.userID ?? ""))
            fields.append(("fw_version", event.productVersion.map(String.init) ?? ""))
            fields.append(("productID", event.productID.map(String.init) ?? ""))
        }
        return fields
    }
}
