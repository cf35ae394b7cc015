import Synchronization

/// Publishes counted across the devices of `aerosol device simulate --count`.
final class SimulationTally: Sendable {
    private let publishedCount = Atomic<Int>(0)
    private let refusedCount = Atomic<Int>(0)

    /// Counts a publish; `refused` when the server answered other than a plain ACK.
    func published(refused: Bool) {
        publishedCount.add(1, ordering: .relaxed)
        if refused { refusedCount.add(1, ordering: .relaxed) }
    }

    /// Publishes so far.
    var published: Int { publishedCount.load(ordering: .relaxed) }
    /// Publishes the server refused (4.00: over the rate limit) so far.
    var refused: Int { refusedCount.load(ordering: .relaxed) }
}
