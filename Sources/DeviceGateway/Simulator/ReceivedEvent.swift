/// An event the cloud delivered to a simulated device's subscription.
public struct ReceivedEvent: Hashable, Sendable {
    /// The event name.
    public var name: String
    /// The data, or `nil` when the event had none.
    public var data: String?

    /// Creates a received event.
    public init(name: String, data: String?) {
        self.name = name
        self.data = data
    }
}
