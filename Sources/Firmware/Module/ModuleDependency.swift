/// A module a firmware module needs on the device: function, index and minimum version (4 bytes
/// of the prefix: function, index, version LE). A dependency with function ``ModuleFunction/none``
/// is an empty slot.
public struct ModuleDependency: Hashable, Sendable, CustomStringConvertible {
    /// Function of the required module.
    public var function: ModuleFunction
    /// Index of the required module (system part 1, 2, …).
    public var index: UInt8
    /// The lowest version that satisfies the dependency.
    public var version: UInt16

    /// Creates a dependency.
    public init(function: ModuleFunction, index: UInt8, version: UInt16) {
        self.function = function
        self.index = index
        self.version = version
    }

    /// Whether the slot is empty (function 0).
    public var isEmpty: Bool { self.function == .none }

    /// `system part 1 ≥ 5800`.
    public var description: String { "\(self.function.name) \(self.index) ≥ \(self.version)" }
}
