import AerosolModels
import Synchronization

/// Delivers committed events to the devices that subscribed to them, from one
/// gateway-wide tap on the event bus rather than a bus subscription per device.
///
/// A device receives the events of its owner's scope (the owner's devices, API publishes and
/// webhook responses) and of its product, whose name starts with one of its prefixes; a `u`
/// subscription only those of the owner's scope.
final class DeviceEventRouter: Sendable {
    private struct Entry: Sendable {
        var link: DeviceLink
        var ownerID: String?
        var productID: Int?
        var subscriptions: [DeviceSubscription]
    }

    private struct State {
        var entries: [UInt64: Entry] = [:]
        var byOwner: [String: Set<UInt64>] = [:]
        var byProduct: [Int: Set<UInt64>] = [:]
    }

    private let state = Mutex(State())

    /// Sets the subscriptions of the connection `link` (replacing earlier ones).
    func update(_ link: DeviceLink, ownerID: String?, productID: Int?, subscriptions: [DeviceSubscription]) {
        state.withLock { state in
            Self.unindex(link.serial, in: &state)
            let entry = Entry(link: link, ownerID: ownerID, productID: productID, subscriptions: subscriptions)
            state.entries[link.serial] = entry
            if let ownerID { state.byOwner[ownerID, default: []].insert(link.serial) }
            if let productID { state.byProduct[productID, default: []].insert(link.serial) }
        }
    }

    /// Forgets a connection's subscriptions.
    func remove(_ serial: UInt64) {
        state.withLock { Self.unindex(serial, in: &$0) }
    }

    /// The number of connections with subscriptions.
    var count: Int { state.withLock { $0.entries.count } }

    /// Hands every event to the subscribed devices it matches.
    func route(_ events: [Event]) {
        for event in events {
            let targets = state.withLock { state -> [DeviceLink] in
                var serials = event.userID.flatMap { state.byOwner[$0] } ?? []
                if let productID = event.productID, let members = state.byProduct[productID] {
                    serials.formUnion(members)
                }
                return serials.compactMap { serial in
                    guard let entry = state.entries[serial],
                        entry.subscriptions.contains(where: { $0.matches(event, ownerID: entry.ownerID) })
                    else { return nil }
                    return entry.link
                }
            }
            for link in targets { link.deliver(event) }
        }
    }

    private static func unindex(_ serial: UInt64, in state: inout State) {
        guard let old = state.entries.removeValue(forKey: serial) else { return }
        if let ownerID = old.ownerID {
            state.byOwner[ownerID]?.remove(serial)
            if state.byOwner[ownerID]?.isEmpty == true { state.byOwner[ownerID] = nil }
        }
        if let productID = old.productID {
            state.byProduct[productID]?.remove(serial)
            if state.byProduct[productID]?.isEmpty == true { state.byProduct[productID] = nil }
        }
    }
}
