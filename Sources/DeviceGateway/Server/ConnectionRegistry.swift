import NIOCore
import Synchronization

/// The gateway's live connections: every accepted channel (to close them all on shutdown),
/// per device id the one connection that is online (a new one replaces the old), and
/// the status work still running for closed connections (to wait for it on shutdown).
final class ConnectionRegistry: Sendable {
    private struct State {
        var nextSerial: UInt64 = 0
        var channels: [UInt64: any Channel] = [:]
        var online: [String: DeviceLink] = [:]
        var finishing: [UInt64: Task<Void, Never>] = [:]
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

    /// A serial for a link without a channel of its own (a UDP device's time online), or
    /// `nil` when the gateway is closing.
    func reserveSerial() -> UInt64? {
        state.withLock { state in
            guard !state.closing else { return nil }
            state.nextSerial += 1
            return state.nextSerial
        }
    }

    /// Forgets a channel that has closed.
    func remove(_ serial: UInt64) {
        _ = state.withLock { $0.channels.removeValue(forKey: serial) }
    }

    /// Makes `link` the online connection of its device; returns the connection it replaces.
    func goOnline(_ link: DeviceLink) -> DeviceLink? {
        state.withLock { state in
            let previous = state.online.updateValue(link, forKey: link.deviceID)
            return previous.flatMap { $0.serial == link.serial ? nil : $0 }
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

    /// The online connection of `deviceID`, if any.
    func link(_ deviceID: String) -> DeviceLink? {
        state.withLock { $0.online[deviceID] }
    }

    /// The number of devices online.
    var onlineCount: Int { state.withLock { $0.online.count } }

    /// The devices online here.
    var onlineDeviceIDs: [String] { state.withLock { Array($0.online.keys) } }

    /// The number of devices online over `transport`.
    func onlineCount(over transport: DeviceTransport) -> Int {
        state.withLock { state in state.online.values.reduce(0) { $0 + ($1.transport == transport ? 1 : 0) } }
    }

    /// The number of open connections (online or not yet).
    var connectionCount: Int { state.withLock { $0.channels.count } }

    /// Runs what remains to do after connection `serial` closed (reporting its device offline)
    /// as a task that ``closeAll()`` waits for.
    func finish(_ serial: UInt64, _ work: @escaping @Sendable () async -> Void) {
        state.withLock { state in
            state.finishing[serial] = Task {
                await work()
                _ = self.state.withLock { $0.finishing.removeValue(forKey: serial) }
            }
        }
    }

    /// Refuses new connections, closes every open one and returns once each has closed and
    /// reported its device offline.
    func closeAll() async {
        let channels = state.withLock { state in
            state.closing = true
            return Array(state.channels.values)
        }
        for channel in channels {
            channel.close(promise: nil)
            try? await channel.closeFuture.get()
        }
        while let task = state.withLock({ $0.finishing.values.first }) {
            await task.value
        }
    }
}
