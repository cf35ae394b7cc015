/// An input that broke a property a parser promises: a finding.
public struct PropertyViolation: Error, Sendable, CustomStringConvertible {
    /// The fuzz target that found it.
    public let target: FuzzTarget
    /// Which property failed, and how.
    public let message: String

    /// A violation of `target`'s properties.
    public init(_ target: FuzzTarget, _ message: String) {
        self.target = target
        self.message = message
    }

    /// `target: message`.
    public var description: String { "\(target.rawValue): \(message)" }
}
