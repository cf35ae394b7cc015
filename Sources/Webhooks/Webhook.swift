import AerosolModels
import AerosolStore
import Foundation

/// A webhook ready to match events and be delivered: its stored record with the definition
/// parsed and the credentials open.
public struct Webhook: Sendable {
    /// 24 lower-case hex characters.
    public var id: String
    /// Whose it is.
    public var scope: WebhookScope
    /// The definition.
    public var definition: WebhookDefinition
    /// The Basic-auth password and signing secret.
    public var credentials: StoredWebhook.Credentials
    /// Only events with a larger log id trigger it.
    public var afterEventID: Int64
    /// When it was created.
    public var createdAt: Date
    /// When its definition was last stored (a version: an older one never replaces a newer).
    public var updatedAt: Date
    /// When it was paused until, as last stored (the live state is the scheduler's).
    public var pausedUntil: Date?
    /// Why it was paused, as last stored.
    public var pauseReason: String?

    /// Whether it is a product webhook.
    public var isProduct: Bool {
        if case .product = scope { true } else { false }
    }

    /// The owner for sandbox webhooks.
    public var ownerID: String? {
        if case .user(let user) = scope { user } else { nil }
    }

    /// The product for product webhooks.
    public var productID: Int? {
        if case .product(let product) = scope { product } else { nil }
    }

    /// Parses a stored record.
    public init(_ record: StoredWebhook) throws {
        if let product = record.productID {
            scope = .product(product)
        } else if let owner = record.ownerID {
            scope = .user(owner)
        } else {
            throw WebhookError.invalid("webhook \(record.id) has neither an owner nor a product")
        }
        id = record.id
        definition = try WebhookDefinition(stored: record.definition, product: record.productID != nil)
        credentials = record.credentials
        afterEventID = record.afterEventID
        createdAt = record.createdAt
        updatedAt = record.updatedAt
        pausedUntil = record.pausedUntil
        pauseReason = record.pauseReason
    }

    /// Whether `event` triggers it: not disabled, newer than the webhook, in its scope, from
    /// its device if it names one, and named with its prefix. Events the cloud
    /// publishes about webhooks (`hook-*`, `coreid` `particle-internal`) never do.
    public func matches(_ event: Event) -> Bool {
        guard !definition.disabled, event.id > afterEventID, !Self.isCloudEvent(event) else { return false }
        switch scope {
        case .user(let user): guard event.userID == user else { return false }
        case .product(let product): guard event.productID == product else { return false }
        }
        if let device = definition.deviceID, device != event.coreID { return false }
        return EventFilter.name(event.name, hasPrefix: definition.event)
    }

    /// `hook-*` events and everything published as `particle-internal`.
    public static func isCloudEvent(_ event: Event) -> Bool {
        event.coreID == Event.internalCoreID || event.name.hasPrefix("hook-")
    }

    /// Who the `hook-*` events of this webhook belong to: the owner's streams for sandbox
    /// webhooks; the product's stream (and the device owner's) for product webhooks.
    func audience(for event: Event) -> ResponseEvents.Audience {
        switch scope {
        case .user(let user): ResponseEvents.Audience(userID: user, productID: nil)
        case .product(let product): ResponseEvents.Audience(userID: event.userID, productID: product)
        }
    }
}
