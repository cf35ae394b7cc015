/// A CoAP message-ID counter that pre-increments for every message its owner originates
/// (CON or NON) and wraps at 65536. ACKs and RSTs reuse the ID they answer and do not count.
public struct MessageIDCounter: Hashable, Sendable {
    /// The last ID handed out (or the start value before the first ``next()``).
    public private(set) var current: UInt16

    /// Creates a counter whose first ``next()`` returns `current + 1`.
    public init(current: UInt16) {
        self.current = current
    }

    /// The next message ID.
    public mutating func next() -> UInt16 {
        self.current &+= 1
        return self.current
    }
}
