import AerosolModels
import Foundation

/// The events the cloud publishes back after a webhook attempt, all with `coreid`
/// `particle-internal`: `hook-sent/<event>` (data `undefined`), then the response in 512-byte
/// parts `hook-response/<event>/<n>` (at most 100 KB), or `hook-error/<event>/0`.
///
/// The topics may be changed with `responseTopic` and `errorResponseTopic`, and the response
/// data with `responseTemplate` (rendered against the parsed JSON response). An empty
/// response makes no part. Parts end on UTF-8 character boundaries, so a part that would cut
/// a multi-byte character is up to 3 bytes shorter than 512.
public enum ResponseEvents {
    /// The size of a response part.
    public static let partSize = 512
    /// The most response bytes published (100 KB); the rest is dropped.
    public static let maxResponseBytes = 100 * 1024
    /// The data of `hook-sent` events, as the original sends it.
    public static let sentData = "undefined"
    /// The `hook-error` data when a target is paused, as the original words it.
    public static let sleepingMessage = "Sleeping, too many errors, please wait and try again"

    /// Who the published events belong to.
    public struct Audience: Sendable, Hashable {
        /// The user whose streams show them.
        public var userID: String?
        /// The product whose stream shows them.
        public var productID: Int?

        /// Creates an audience.
        public init(userID: String?, productID: Int?) {
            self.userID = userID
            self.productID = productID
        }
    }

    /// `hook-sent/<event>`.
    public static func sent(for event: Event, audience: Audience) -> EventDraft {
        draft("hook-sent/\(event.name)", sentData, audience)
    }

    /// The `hook-response` parts for a response body (already capped to ``maxResponseBytes``).
    public static func responses(
        body: [UInt8],
        definition: WebhookDefinition,
        event: Event,
        productHook: Bool,
        audience: Audience
    ) -> [EventDraft] {
        let variables = TemplateVariables(event: event, productFields: productHook)
        var text = String(decoding: body.prefix(maxResponseBytes), as: UTF8.self)
        if let template = definition.responseTemplate {
            let json = try? JSONValue.parse(body)
            text = template.render(TemplateVariables(json: json, over: variables))
        }
        let topic = responseTopic(definition, variables: variables, productHook: productHook)
        return chunks(text).enumerated().map { index, part in draft("\(topic)/\(index)", part, audience) }
    }

    /// `hook-error/<event>/0` with `message`.
    public static func error(
        _ message: String,
        definition: WebhookDefinition,
        event: Event,
        productHook: Bool,
        audience: Audience
    ) -> EventDraft {
        let variables = TemplateVariables(event: event, productFields: productHook)
        let topic = definition.errorResponseTopic?.render(variables) ?? "hook-error/\(event.name)"
        return draft("\(topic)/0", message, audience)
    }

    /// The response topic (before `/<index>`).
    static func responseTopic(_ definition: WebhookDefinition, variables: TemplateVariables, productHook: Bool)
        -> String
    {
        if let topic = definition.responseTopic { return topic.render(variables) }
        let name = variables.context["PARTICLE_EVENT_NAME"] as? String ?? ""
        let device = variables.context["PARTICLE_DEVICE_ID"] as? String ?? ""
        return productHook ? "\(device)/hook-response/\(name)" : "hook-response/\(name)"
    }

    /// `text` cut into parts of ``partSize`` bytes (at most ``maxResponseBytes`` in all), each
    /// ending on a character boundary.
    public static func chunks(_ text: String) -> [String] {
        let bytes = Array(text.utf8.prefix(maxResponseBytes))
        var parts: [String] = []
        var start = 0
        while start < bytes.count {
            var end = min(start + partSize, bytes.count)
            if end < bytes.count {
                // Back off while the byte at the cut is a UTF-8 continuation byte.
                var cut = end
                while cut > start, bytes[cut] & 0xC0 == 0x80 { cut -= 1 }
                if cut > start { end = cut }
            }
            parts.append(String(decoding: bytes[start..<end], as: UTF8.self))
            start = end
        }
        return parts
    }

    private static func draft(_ name: String, _ data: String, _ audience: Audience) -> EventDraft {
        EventDraft(
            name: name,
            data: data,
            coreID: Event.internalCoreID,
            userID: audience.userID,
            productID: audience.productID
        )
    }
}
