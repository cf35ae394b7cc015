/// Which events a stream delivers: a scope (whose events) and an optional name prefix.
public struct EventFilter: Sendable, Hashable {
    /// Whose events a stream delivers.
    public enum Scope: Sendable, Hashable {
        /// Events owned by a user: their API publishes and their devices' events.
        case user(String)
        /// One device's events.
        case device(String)
        /// A product's events: its devices', its API publishes, its `hook-*` events.
        case product(Int)
        /// One device's events within a product.
        case productDevice(product: Int, device: String)
    }

    /// Whose events.
    public var scope: Scope
    /// A case-sensitive, byte-wise name prefix; empty matches every name.
    public var prefix: String

    /// Creates a filter.
    public init(scope: Scope, prefix: String = "") {
        self.scope = scope
        self.prefix = prefix
    }

    /// Whether a stream with this filter delivers `event`.
    public func matches(_ event: Event) -> Bool {
        guard scope.contains(event) else { return false }
        return Self.name(event.name, hasPrefix: prefix)
    }

    /// The prefix rule of the original: byte-wise `starts(with:)`, no wildcards, no segments.
    public static func name(_ name: String, hasPrefix prefix: String) -> Bool {
        prefix.isEmpty || name.utf8.starts(with: prefix.utf8)
    }

    /// Whether this stream renders product fields (`userid`, `version`, `public`, `productID`).
    public var usesProductFormat: Bool {
        switch scope {
        case .product, .productDevice: true
        case .user, .device: false
        }
    }
}

extension EventFilter.Scope {
    /// Whether an event belongs to this scope (the prefix aside).
    public func contains(_ event: Event) -> Bool {
        switch self {
        case .user(let user): event.userID == user
        case .device(let device): event.coreID == device
        case .product(let product): event.productID == product
        case .productDevice(let product, let device): event.productID == product && event.coreID == device
        }
    }

    /// The scopes that contain `event`, for indexed fan-out.
    public static func scopes(of event: Event) -> [EventFilter.Scope] {
        var scopes: [EventFilter.Scope] = [.device(event.coreID)]
        if let user = event.userID { scopes.append(.user(user)) }
        if let product = event.productID {
            scopes.append(.product(product))
            scopes.append(.productDevice(product: product, device: event.coreID))
        }
        return scopes
    }
}
