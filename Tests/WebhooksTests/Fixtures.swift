import AerosolModels
import Foundation
import Testing

@testable import Webhooks

/// Builders shared by the unit tests.
enum Fixtures {
    /// The event of the spec's example: `demo` / `mydata` from device `3f002b…`.
    static func event(
        _ name: String = "demo",
        data: String? = "mydata",
        id: Int64 = 7,
        productID: Int? = nil
    ) -> Event {
        Event(
            id: id,
            name: name,
            data: data,
            publishedAt: Timestamp.parse("2017-02-01T21:08:05.763Z")!,
            coreID: "3f002b000000000000000000",
            userID: "5b8a4dabec3a82be794912e9",
            productID: productID,
            productVersion: productID == nil ? nil : 3
        )
    }

    /// A definition from JSON text, as a request body would give it.
    static func definition(_ json: String, product: Bool = false) throws -> WebhookDefinition {
        try parse(json, product: product).0
    }

    static func parse(_ json: String, product: Bool = false) throws -> (WebhookDefinition, WebhookDefinition.Secrets) {
        guard case .object(let members) = try JSONValue.parse(Array(json.utf8)) else {
            throw WebhookError.invalid("not an object")
        }
        return try WebhookDefinition.parse(Dictionary(members, uniquingKeysWith: { a, _ in a }), product: product)
    }

    /// Renders `json` for `event`.
    static func render(
        _ json: String,
        event: Event = Fixtures.event(),
        password: String? = nil,
        product: Bool = false
    ) throws -> RenderedRequest {
        try RequestRenderer.render(
            definition(json, product: product),
            password: password,
            event: event,
            productFields: product
        )
    }

    /// A fixed instant.
    static let start = Date(timeIntervalSince1970: 1_700_000_000)
}
