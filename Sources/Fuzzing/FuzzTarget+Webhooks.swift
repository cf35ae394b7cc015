import AerosolModels
import Foundation
import Webhooks

extension FuzzTarget {
    /// The event every fuzzed webhook and template renders: data that is a JSON object with
    /// nested values and characters that need escaping, so that templates reach into it.
    static let sampleEvent = Event(
        id: 42,
        name: "temperature/kitchen",
        data:
            #"{"temp":21.5,"n":3,"ok":true,"none":null,"s":"a&b<c>\"d'","list":[1,"two",{"x":"y"}],"obj":{"a":{"b":"c"}}}"#,
        publishedAt: Date(timeIntervalSince1970: 1_780_000_000),
        coreID: "0123456789abcdef01234567",
        userID: "user-1",
        productID: 7,
        productVersion: 3
    )

    /// A JSON definition (as `POST /v1/webhooks` receives it; a repeated key keeps its last
    /// value; one bit of the input picks product or sandbox). Refusals are invalid-definition
    /// errors with a message. An accepted definition must load back from the text the store
    /// keeps, unchanged (or it would be lost at the next start), and render for an event either
    /// to a request whose method is the definition's, whose URL is http(s) and whose headers
    /// hold no line end, or to an invalid-definition error.
    func checkWebhook(_ input: [UInt8]) throws(PropertyViolation) -> Verdict {
        guard case .object(let members)? = try? JSONValue.parse(input) else { return .rejected }
        var values: [String: JSONValue] = [:]
        for (key, value) in members { values[key] = value }
        var coin = SplitMix64(hashing: input)
        let product = coin.next() & 1 == 1
        let definition: WebhookDefinition
        let secrets: WebhookDefinition.Secrets
        do {
            (definition, secrets) = try WebhookDefinition.parse(values, product: product)
        } catch {
            try self.requireInvalid(error)
            return .rejected
        }
        let stored = definition.storedText
        do {
            let loaded = try WebhookDefinition(stored: stored, product: product)
            try self.require(loaded.storedText == stored, "the stored definition loads back changed")
        } catch let violation as PropertyViolation {
            throw violation
        } catch {
            throw self.violation("the stored definition does not load back: \(error) in \(stored.prefix(300))")
        }
        do {
            let request = try RequestRenderer.render(
                definition,
                password: secrets.password,
                event: Self.sampleEvent,
                productFields: product
            )
            try self.require(request.method == definition.requestType, "rendered \(request.method)")
            try self.require(["http", "https"].contains(request.url.scheme), "rendered a \(request.url.scheme) URL")
            for header in request.headers {
                try self.require(
                    !(header.name + header.value).contains(where: { $0 == "\r" || $0 == "\n" }),
                    "a header with a line end: \(header.name)"
                )
            }
        } catch let violation as PropertyViolation {
            throw violation
        } catch {
            try self.requireInvalid(error)
        }
        return .accepted
    }

    private func requireInvalid(_ error: any Error) throws(PropertyViolation) {
        guard let error = error as? WebhookError else { throw self.violation("not a WebhookError: \(error)") }
        try self.require(error.isInvalid, "not an invalid-definition error: \(error)")
        try self.require(!error.message.isEmpty, "an error without a message")
    }

    /// Any text as a template of either escaping. Refusals are invalid-definition errors that
    /// name the field; a template without a tag renders as itself; rendering for the sample
    /// event terminates without trapping.
    func checkTemplate(_ input: [UInt8]) throws(PropertyViolation) -> Verdict {
        let text = String(decoding: input, as: UTF8.self)
        var coin = SplitMix64(hashing: input)
        let escaping: WebhookTemplate.Escaping = coin.next() & 1 == 1 ? .html : .none
        let template: WebhookTemplate
        do {
            template = try WebhookTemplate(text, escaping: escaping, field: "fuzzed")
        } catch {
            try self.requireInvalid(error)
            try self.require("\(error)".contains("fuzzed"), "the error does not name the field: \(error)")
            return .rejected
        }
        let rendered = template.render(TemplateVariables(event: Self.sampleEvent, productFields: true))
        if template.isConstant {
            try self.require(rendered == text, "a template without tags rendered differently")
        }
        return .accepted
    }
}
