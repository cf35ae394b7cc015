/// A device's `Particle.subscribe`: events whose name starts with `prefix`, from the
/// device owner's scope (and its product's). Subscriptions live as long as the connection.
public struct DeviceSubscription: Hashable, Sendable {
    /// The event-name prefix; empty matches every event.
    public var prefix: String
    /// The `u` query: only events of the owner's own scope, not those of other devices of the
    /// device's product (Device OS asks this for its `particle` and `spark` subscriptions).
    public var ownDevicesOnly: Bool

    /// Creates a subscription.
    public init(prefix: String, ownDevicesOnly: Bool) {
        self.prefix = prefix
        self.ownDevicesOnly = ownDevicesOnly
    }
}
