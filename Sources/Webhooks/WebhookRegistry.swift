import AerosolModels
import Synchronization

/// Every webhook in memory, indexed by owner and product, for matching events without a query.
///
/// Matching and changes take the same lock, and a webhook added while the dispatcher is behind
/// starts with the first event the dispatcher has not matched yet (or later), so an event
/// published after a webhook was created is never missed.
final class WebhookRegistry: Sendable {
    private struct State {
        var hooks: [String: Webhook] = [:]
        var byUser: [String: Set<String>] = [:]
        var byProduct: [Int: Set<String>] = [:]
        var matchedThrough: Int64 = 0
        /// Events already matched that a webhook added since must still be matched against
        /// (``Gap``), oldest first.
        var gaps: [Gap] = []

        mutating func insert(_ hook: Webhook) {
            remove(hook.id)
            hooks[hook.id] = hook
            switch hook.scope {
            case .user(let user): byUser[user, default: []].insert(hook.id)
            case .product(let product): byProduct[product, default: []].insert(hook.id)
            }
        }

        mutating func remove(_ id: String) {
            guard let old = hooks.removeValue(forKey: id) else { return }
            switch old.scope {
            case .user(let user):
                byUser[user]?.remove(id)
                if byUser[user]?.isEmpty == true { byUser[user] = nil }
            case .product(let product):
                byProduct[product]?.remove(id)
                if byProduct[product]?.isEmpty == true { byProduct[product] = nil }
            }
        }
    }

    private let state = Mutex(State())

    /// Loads `hooks`; the dispatcher's cursor is where matching resumes.
    init(hooks: [Webhook], cursor: Int64) {
        state.withLock { state in
            state.matchedThrough = cursor
            for hook in hooks { state.insert(hook) }
        }
    }

    /// Events a new webhook must still be matched against: it was created (through another
    /// node, with several nodes on one database) after `after`, and the dispatcher had matched
    /// through `through` without it by the time this node loaded it.
    struct Gap: Sendable, Equatable {
        var webhookID: String
        var after: Int64
        var through: Int64
    }

    /// Adds or replaces a webhook. A new one starts after the last event already matched, at
    /// the latest; if the dispatcher has matched past its creation already, the events between
    /// are left for ``takeGap()``.
    func put(_ hook: Webhook) {
        state.withLock { state in
            var hook = hook
            if let existing = state.hooks[hook.id] {
                // A version read before a replace this node made (``WebhookSync`` raced it).
                guard hook.updatedAt >= existing.updatedAt else { return }
                hook.afterEventID = existing.afterEventID
            } else if hook.afterEventID < state.matchedThrough {
                state.gaps.append(Gap(webhookID: hook.id, after: hook.afterEventID, through: state.matchedThrough))
            } else {
                hook.afterEventID = state.matchedThrough
            }
            state.insert(hook)
        }
    }

    /// The oldest gap to match, if any (the dispatcher's).
    func takeGap() -> Gap? {
        state.withLock { $0.gaps.isEmpty ? nil : $0.gaps.removeFirst() }
    }

    /// Puts back a gap whose matching failed, to try again.
    func restore(_ gap: Gap) {
        state.withLock { state in
            if state.hooks[gap.webhookID] != nil { state.gaps.insert(gap, at: 0) }
        }
    }

    /// Sets where matching resumes (the stored cursor, when this node starts dispatching); gaps
    /// behind it are the previous dispatcher's business.
    func resume(at cursor: Int64) {
        state.withLock { state in
            state.matchedThrough = cursor
            state.gaps.removeAll()
        }
    }

    /// Removes a webhook.
    func remove(_ id: String) {
        state.withLock { state in
            state.remove(id)
            state.gaps.removeAll { $0.webhookID == id }
        }
    }

    /// The webhook with this id.
    func hook(_ id: String) -> Webhook? {
        state.withLock { $0.hooks[id] }
    }

    /// Every webhook.
    var all: [Webhook] {
        state.withLock { Array($0.hooks.values) }
    }

    /// With no webhook at all, records every event up to `id` as matched (nothing to read)
    /// and returns `true`; otherwise returns `false`.
    func skipIfEmpty(through id: Int64) -> Bool {
        state.withLock { state in
            guard state.hooks.isEmpty else { return false }
            state.matchedThrough = max(state.matchedThrough, id)
            return true
        }
    }

    /// The webhooks each event triggers, in event order; records the events as matched.
    func match(_ events: [Event]) -> [(event: Event, hooks: [Webhook])] {
        state.withLock { state in
            var matches: [(Event, [Webhook])] = []
            for event in events {
                state.matchedThrough = max(state.matchedThrough, event.id)
                guard !Webhook.isCloudEvent(event) else { continue }
                var ids = Set<String>()
                if let user = event.userID, let hooks = state.byUser[user] { ids.formUnion(hooks) }
                if let product = event.productID, let hooks = state.byProduct[product] { ids.formUnion(hooks) }
                let hooks = ids.sorted().compactMap { state.hooks[$0] }.filter { $0.matches(event) }
                if !hooks.isEmpty { matches.append((event, hooks)) }
            }
            return matches
        }
    }
}
