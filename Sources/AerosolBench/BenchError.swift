/// A benchmark could not run or finish; the message says why.
public struct BenchError: Error, CustomStringConvertible {
    /// What went wrong.
    public let description: String

    init(_ description: String) {
        self.description = description
    }
}
