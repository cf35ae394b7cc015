/// The HTTP request a webhook makes for one event, before it is signed and sent.
public struct RenderedRequest: Sendable, Hashable {
    /// One header, in the order it is sent.
    public struct Header: Sendable, Hashable {
        /// The name, as written.
        public var name: String
        /// The value.
        public var value: String

        /// Creates a header.
        public init(_ name: String, _ value: String) {
            self.name = name
            self.value = value
        }
    }

    /// `GET`, `POST`, `PUT`, `DELETE` or `PATCH`.
    public var method: String
    /// Where it goes, query included.
    public var url: TargetURL
    /// The headers (`content-length` is added when it is sent).
    public var headers: [Header]
    /// The body, if any.
    public var body: String?

    /// The value of the first header with this name (case-insensitive).
    public func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }
}
