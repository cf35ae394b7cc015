/// An event a device published, before it has an owner or an id.
public struct DevicePublish: Hashable, Sendable {
    /// The event name, without the `e`/`E` path letter.
    public var name: String
    /// The payload as text; `nil` when the device sent none.
    public var data: String?
    /// The time to live in seconds (Max-Age, default 60).
    public var ttl: Int

    /// Creates a publish.
    public init(name: String, data: String?, ttl: Int = 60) {
        self.name = name
        self.data = data
        self.ttl = ttl
    }
}
