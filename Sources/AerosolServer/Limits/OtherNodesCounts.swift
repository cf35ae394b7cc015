/// What the other nodes of one database counted per key (a client address, an account and
/// address), each node's count until its window ends, as ``RateLimitSync`` last read them.
/// Bounded: at most `capacity` keys; counts whose window ended are forgotten at each read.
struct OtherNodesCounts<Key: Hashable & Sendable, Instant: Comparable & Sendable>: Sendable {
    private var counts: [Key: [String: (count: Int, ends: Instant)]] = [:]
    private let capacity: Int

    init(capacity: Int) {
        self.capacity = capacity
    }

    /// The sum of the live counts of `key` at `now`, and when the first and the last of them
    /// end (`nil` when there is none).
    func total(_ key: Key, now: Instant) -> (count: Int, firstEnd: Instant?, lastEnd: Instant?) {
        var total: (count: Int, firstEnd: Instant?, lastEnd: Instant?) = (0, nil, nil)
        for entry in counts[key]?.values ?? [:].values where entry.ends > now {
            total.count += entry.count
            total.firstEnd = min(total.firstEnd ?? entry.ends, entry.ends)
            total.lastEnd = max(total.lastEnd ?? entry.ends, entry.ends)
        }
        return total
    }

    /// Forgets the counts that ended by `now`.
    mutating func forget(endedBy now: Instant) {
        counts = counts.compactMapValues { nodes in
            let live = nodes.filter { $0.value.ends > now }
            return live.isEmpty ? nil : live
        }
    }

    /// Records `node`'s count of `key` (unless the table is full of other keys).
    mutating func record(_ count: Int, of key: Key, by node: String, until ends: Instant) {
        guard counts[key] != nil || counts.count < capacity else { return }
        counts[key, default: [:]][node] = (count, ends)
    }
}
