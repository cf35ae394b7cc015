import Foundation

/// Decides which webhooks may send now and how many: the in-memory half of the delivery
/// workers, a value type fed with the current time and returning what to do, so that rate
/// limits, pauses and concurrency are tested without sockets or a database.
///
/// For each webhook it knows when its earliest waiting delivery is due (the outbox tells it
/// as deliveries arrive or are rescheduled), its rate window, its health and its deliveries in
/// flight. ``plan(at:)`` returns, for each webhook that may send, how many due deliveries to
/// fetch, and when to look again.
struct DeliveryScheduler: Sendable {
    /// One webhook's scheduling state.
    struct Slot: Sendable {
        var window: RateWindow
        var health: TargetHealth
        var enabled = true
        var inFlight: Set<Int64> = []
        /// When the earliest waiting delivery not in flight is due; `nil` when none waits.
        var nextDue: Date?
        /// A fetch is outstanding (with this many places reserved).
        var fetching = 0
        /// Work that arrived while a fetch was outstanding.
        var arrivedWhileFetching: Date?
    }

    /// A fetch to make: up to `limit` due deliveries of `webhookID`.
    struct Fetch: Sendable, Equatable {
        var webhookID: String
        var limit: Int
    }

    let maxInFlight: Int
    let maxInFlightPerHook: Int
    /// The most deliveries fetched for one webhook at once.
    let batchSize = 100
    private(set) var slots: [String: Slot] = [:]
    private(set) var inFlightTotal = 0
    private var reserved = 0
    /// Webhooks with something waiting.
    private var candidates: Set<String> = []

    init(maxInFlight: Int, maxInFlightPerHook: Int) {
        self.maxInFlight = max(1, maxInFlight)
        self.maxInFlightPerHook = max(1, maxInFlightPerHook)
    }

    /// Adds a webhook or updates its limit and whether it is enabled.
    mutating func configure(_ webhookID: String, rateLimit: Int, enabled: Bool, health: @autoclosure () -> TargetHealth)
    {
        if var slot = slots[webhookID] {
            if slot.window.limit != rateLimit { slot.window.setLimit(rateLimit) }
            slot.enabled = enabled
            slots[webhookID] = slot
        } else {
            slots[webhookID] = Slot(window: RateWindow(limit: rateLimit), health: health(), enabled: enabled)
        }
    }

    /// Gives a webhook a fresh health (its definition was replaced), keeping its queue.
    mutating func reset(_ webhookID: String, health: TargetHealth) {
        slots[webhookID]?.health = health
    }

    /// Forgets a deleted webhook (its deliveries in flight still end through ``finished``).
    mutating func remove(_ webhookID: String) {
        slots[webhookID] = nil
        candidates.remove(webhookID)
    }

    /// A delivery of `webhookID` is waiting, due at `dueAt`.
    mutating func arrived(_ webhookID: String, dueAt: Date) {
        guard var slot = slots[webhookID] else { return }
        if slot.fetching > 0 {
            slot.arrivedWhileFetching = min(slot.arrivedWhileFetching ?? dueAt, dueAt)
        } else {
            slot.nextDue = min(slot.nextDue ?? dueAt, dueAt)
            candidates.insert(webhookID)
        }
        slots[webhookID] = slot
    }

    /// What to fetch now, and when to plan again if nothing else happens first (`nil`: only
    /// when woken).
    mutating func plan(at now: Date) -> (fetches: [Fetch], wakeAt: Date?) {
        var fetches: [Fetch] = []
        var wake: Date?
        func later(_ date: Date) { wake = min(wake ?? date, date) }
        for id in candidates {
            guard var slot = slots[id], slot.enabled, slot.fetching == 0, let due = slot.nextDue else { continue }
            guard due <= now else {
                later(due)
                continue
            }
            let free = maxInFlight - inFlightTotal - reserved
            guard free > 0 else { break }
            var limit = min(free, maxInFlightPerHook - slot.inFlight.count, batchSize)
            guard limit > 0 else { continue }
            switch slot.health.admission(at: now) {
            case .unlimited: break
            case .probe: limit = 1
            case .none(let until):
                slots[id] = slot
                if let until { later(until) }
                continue
            }
            let rate = slot.window.available(at: now)
            guard rate > 0 else {
                slots[id] = slot
                later(slot.window.nextStart(after: now))
                continue
            }
            limit = min(limit, rate)
            slot.fetching = limit
            reserved += limit
            slots[id] = slot
            fetches.append(Fetch(webhookID: id, limit: limit))
        }
        return (fetches, wake)
    }

    /// A fetch came back: `started` deliveries start now; `nextDue` is when the next waiting
    /// one is due (`nil`: none).
    mutating func fetched(_ webhookID: String, started: [Int64], nextDue: Date?, at now: Date) {
        guard var slot = slots[webhookID] else {
            // Deleted meanwhile: the deliveries still run and end through `finished`.
            inFlightTotal += started.count
            reserved = max(0, reserved - started.count)
            return
        }
        reserved = max(0, reserved - slot.fetching)
        slot.fetching = 0
        for id in started {
            slot.inFlight.insert(id)
            slot.window.record(now)
            slot.health.started()
        }
        inFlightTotal += started.count
        var due = nextDue
        if let arrived = slot.arrivedWhileFetching { due = min(due ?? arrived, arrived) }
        slot.arrivedWhileFetching = nil
        slot.nextDue = due
        if due == nil { candidates.remove(webhookID) } else { candidates.insert(webhookID) }
        slots[webhookID] = slot
    }

    /// A delivery's result bears on its webhook's health; returns a pause or resume to act on.
    mutating func report(_ webhookID: String, _ signal: DeliveryDecision.Signal, at now: Date) -> TargetHealth
        .Transition?
    {
        guard var slot = slots[webhookID] else { return nil }
        let transition: TargetHealth.Transition?
        switch signal {
        case .success: transition = slot.health.succeeded()
        case .neutral: transition = slot.health.answered()
        case .failure(let reason): transition = slot.health.failed(reason: reason, at: now)
        }
        slots[webhookID] = slot
        return transition
    }

    /// A delivery ended; `retryAt` when it waits for another attempt.
    mutating func finished(_ webhookID: String, delivery: Int64, retryAt: Date?) {
        inFlightTotal = max(0, inFlightTotal - 1)
        guard var slot = slots[webhookID] else { return }
        slot.inFlight.remove(delivery)
        slots[webhookID] = slot
        if let retryAt { arrived(webhookID, dueAt: retryAt) }
    }

    /// The deliveries of `webhookID` in flight (left out of fetches).
    func inFlight(_ webhookID: String) -> Set<Int64> {
        slots[webhookID]?.inFlight ?? []
    }

    /// A webhook's health, if known.
    func health(_ webhookID: String) -> TargetHealth? {
        slots[webhookID]?.health
    }
}
