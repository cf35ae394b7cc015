/// Whose a webhook is: a user's sandbox or a product.
public enum WebhookScope: Sendable, Hashable {
    /// A user's own webhook: their API publishes and their devices' events trigger it.
    case user(String)
    /// A product's webhook: the product's events trigger it.
    case product(Int)
}
