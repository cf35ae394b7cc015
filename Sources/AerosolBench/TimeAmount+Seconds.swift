import NIOCore

extension TimeAmount {
    /// A time amount of `seconds`, fractions included.
    static func fractionalSeconds(_ seconds: Double) -> TimeAmount {
        .nanoseconds(Int64((seconds * 1e9).rounded()))
    }
}
