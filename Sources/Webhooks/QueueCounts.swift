import Synchronization

/// How many deliveries each webhook has waiting, to bound its queue without a query per event.
///
/// The dispatcher reserves a place before it enqueues; a delivery gives its place back when
/// it is delivered or given up. Policy when a webhook's queue is full: the new event is not
/// queued for it but logged as `dropped` in its delivery log (the oldest waiting events keep
/// their places, and the webhook's other events are unaffected).
final class QueueCounts: Sendable {
    private let counts = Mutex<[String: Int]>([:])
    let limit: Int

    init(limit: Int, initial: [String: Int] = [:]) {
        self.limit = limit
        counts.withLock { $0 = initial }
    }

    /// Takes a place for `webhookID`; `false` when its queue is full.
    func reserve(_ webhookID: String) -> Bool {
        counts.withLock { counts in
            let count = counts[webhookID, default: 0]
            guard count < limit else { return false }
            counts[webhookID] = count + 1
            return true
        }
    }

    /// Gives places back (a delivery finished, or an enqueue failed).
    func release(_ webhookID: String, count: Int = 1) {
        counts.withLock { counts in
            let left = counts[webhookID, default: 0] - count
            counts[webhookID] = left > 0 ? left : nil
        }
    }

    /// Deliveries waiting across every webhook.
    var total: Int { counts.withLock { $0.values.reduce(0, +) } }

    /// Forgets a deleted webhook.
    func remove(_ webhookID: String) {
        _ = counts.withLock { $0.removeValue(forKey: webhookID) }
    }

    /// Deliveries waiting for `webhookID`.
    func count(_ webhookID: String) -> Int {
        counts.withLock { $0[webhookID, default: 0] }
    }
}
