import NIOCore
import Synchronization

/// The gateway's live connections: every accepted channel (to close them all on shutdown) and,
/// per device id, the one connection that is online (a new one replaces the old, spec §9).
final class ConnectionRegistry: Sendable {
    private struct State {
        var nextSerial: UInt64 = 0
        var channels: [UInt64: any Channel] = [:]
        var online: [String: (serial: UInt64, channel: any Channel)] = [:]
        var closing = false
    }

    private let state = Mutex(State())

    /// Records an accepted channel and returns its serial, or `nil` when the gateway is closing.
    func accept(_ channel: any Channel) -> UInt64? {
        state.withLock { state in
            guard !state.closing else { return nil }
            state.nextSerial += 1
            state.channels[state.nextSerial] = channel
            return state.nextSerial
        }
    }

    /// Forgets a channel that has closed.
    func remove(_ serial: UInt64) {
        _ = state.withLock { $0.channels.removeValue(forKey: serial) }
    }

    /// Makes `serial` the online connection of `deviceID`; returns the connection it replaces.
    func goOnline(_ deviceID: String, serial: UInt64) -> (any Channel)? {
        state.withLock { state in
            guard let channel = state.channels[serial] else { return nil }
            let previous = state.online.updateValue((serial, channel), forKey: deviceID)
            return previous.flatMap { $0.serial == serial ? nil : $0.channel }
        }
    }

    /// Ends `serial`'s time as the online connection of `deviceID`; `false` if another
    /// connection has taken its place (which then owns the device's status).
    func goOffline(_ deviceID: String, serial: UInt64) -> Bool {
        state.withLock { state in
            guard state.online[deviceID]?.serial == serial else { return false }
            state.online.removeValue(forKey: deviceID)
            return true
        }
    }

    /// The number of devices online.
    var onlineCount: Int { state.withLock { $0.online.count } }

    /// Refuses new connections and closes every open one.
    func closeAll() {
        let channels = state.withLock { state in
            state.closing = true
            return Array(state.channels.values)
        }
        for channel in channels { channel.close(promise: nil) }
    }
}
