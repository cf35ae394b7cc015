import Synchronization

/// One count held in an ``AddressGauge``, released exactly once however many of its owners
/// (a stream's response body, its connection's close) let go of it.
final class GaugeLease: Sendable {
    private let gauge: AddressGauge
    private let address: String
    private let released = Atomic<Bool>(false)

    init(gauge: AddressGauge, address: String) {
        self.gauge = gauge
        self.address = address
    }

    /// Gives the count back; later calls do nothing.
    func release() {
        guard !released.exchange(true, ordering: .acquiringAndReleasing) else { return }
        gauge.release(address)
    }
}
