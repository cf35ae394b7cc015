import Synchronization

/// How many of something (event streams, connections) each address has open, with a cap.
/// An address leaves the table when its count falls to zero, so the table never holds more
/// entries than there are open things.
final class AddressGauge: Sendable {
    private struct Entry {
        var open: Int
        /// Whether a refusal was logged since the address was last below the cap.
        var warned: Bool
    }

    /// The most open at once per address (at least 1).
    let limit: Int
    private let entries = Mutex<[String: Entry]>([:])

    init(limit: Int) {
        self.limit = max(1, limit)
    }

    /// What ``acquire(_:)`` answers.
    enum Admission: Equatable {
        case admitted
        /// Refused; `first` is true for the first refusal since the address was below the cap
        /// (the one worth a log line).
        case refused(first: Bool)
    }

    /// Counts one more for `address`, unless it has ``limit`` open already.
    func acquire(_ address: String) -> Admission {
        entries.withLock { entries in
            var entry = entries[address] ?? Entry(open: 0, warned: false)
            guard entry.open < limit else {
                let first = !entry.warned
                entry.warned = true
                entries[address] = entry
                return .refused(first: first)
            }
            entry.open += 1
            entries[address] = entry
            return .admitted
        }
    }

    /// Counts one fewer for `address` (once per successful ``acquire(_:)``).
    func release(_ address: String) {
        entries.withLock { entries in
            guard var entry = entries[address] else { return }
            entry.open -= 1
            if entry.open <= 0 {
                entries[address] = nil
                return
            }
            entry.warned = false
            entries[address] = entry
        }
    }

    /// How many `address` has open.
    func open(_ address: String) -> Int {
        entries.withLock { $0[address]?.open ?? 0 }
    }
}
