/// The deadlines a transfer keeps, of which the gateway is told only the earliest (one timer per
/// transfer). Each input recomputes it; ``announce(into:)`` emits a ``TransferAction/deadline(_:)``
/// only when it changed.
struct Deadlines: Hashable, Sendable {
    enum Kind: Hashable, Sendable, CaseIterable {
        /// An answer to the request in flight is due.
        case response
        /// The next burst may go out (UDP pacing).
        case pacing
        /// OTA v3: resend unacknowledged chunks.
        case resend
        /// OTA v3: no progress for too long; start again.
        case stall
        /// The device must have come back by now.
        case reconnect
        /// Legacy: ask a busy device again.
        case retry
    }

    private var entries: [Kind: ContinuousClock.Instant] = [:]
    private var announced: ContinuousClock.Instant?

    subscript(kind: Kind) -> ContinuousClock.Instant? {
        get { self.entries[kind] }
        set { self.entries[kind] = newValue }
    }

    mutating func removeAll(except kept: Set<Kind> = []) {
        self.entries = self.entries.filter { kept.contains($0.key) }
    }

    /// The deadlines due at `now`, in declaration order; they are removed.
    mutating func takeDue(at now: ContinuousClock.Instant) -> [Kind] {
        let due = Kind.allCases.filter { kind in self.entries[kind].map { $0 <= now } ?? false }
        for kind in due { self.entries[kind] = nil }
        return due
    }

    /// The gateway's timer has fired: it holds no deadline any more, so the next
    /// ``announce(into:)`` must tell it again even if the earliest did not change.
    mutating func timerConsumed() {
        self.announced = nil
    }

    mutating func announce(into actions: inout [TransferAction]) {
        let earliest = self.entries.values.min()
        if earliest != self.announced {
            self.announced = earliest
            actions.append(.deadline(earliest))
        }
    }
}
