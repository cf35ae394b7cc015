import DeviceGateway
import DeviceProtocol
import Synchronization

/// Many simulated devices connected to one gateway at once, each over the real protocol (RSA
/// handshake, AES frames, Hello) in a task of its own: what `aerosol bench devices`,
/// `aerosol bench device-latency` and `aerosol device simulate --count` run.
///
/// At most ``concurrentHandshakes`` devices are between connecting and the end of their Hello
/// at any time, so the gateway's listen backlog (256) is never overrun; a connected device no
/// longer counts against that limit.
public struct DeviceFleet: Sendable {
    /// The devices, in the order they connect.
    public let identities: [DeviceIdentity]
    /// The server's public key (SubjectPublicKeyInfo DER).
    public let serverPublicKeyDER: [UInt8]
    /// The gateway's address (default `127.0.0.1`).
    public var host = "127.0.0.1"
    /// The gateway's port.
    public let port: Int
    /// Devices handshaking at once, at most (default 64, a quarter of the gateway's backlog).
    public var concurrentHandshakes = 64
    /// The variables and functions every device declares (default none).
    public var application = SimulatedApplication()
    /// The firmware of device `index`, which takes updates (default: none). Called once per
    /// device; return the same instance for a device's every connection.
    public var firmware: (@Sendable (Int) -> SimulatedFirmware?)?
    /// The Hello every device sends (default ``DeviceSimulator/defaultHello``).
    public var hello = DeviceSimulator.defaultHello
    /// Time a device has from connecting to the end of its Hello exchange (default 30 s).
    public var handshakeTimeout: Duration = .seconds(30)
    /// What has happened so far; readable from any task while ``run(_:)`` runs.
    public let progress = Progress()

    /// A fleet of `identities` for the gateway at `port`.
    public init(identities: [DeviceIdentity], serverPublicKeyDER: [UInt8], port: Int) {
        self.identities = identities
        self.serverPublicKeyDER = serverPublicKeyDER
        self.port = port
    }

    /// Connects every device, then runs `session` with each connected device (its index in
    /// ``identities`` and the device) until `session` returns or throws; the device then
    /// disconnects. Returns when every device has ended: cancel the calling task to end them
    /// all. Failures are counted in ``progress``, never thrown.
    public func run(_ session: @escaping @Sendable (Int, SimulatedDevice) async throws -> Void) async {
        let permits = Permits(concurrentHandshakes)
        await withDiscardingTaskGroup { group in
            for index in identities.indices {
                await permits.acquire()
                if Task.isCancelled {
                    permits.release()
                    break
                }
                group.addTask { await runDevice(index, permits: permits, session: session) }
            }
        }
    }

    private func runDevice(
        _ index: Int,
        permits: Permits,
        session: @Sendable (Int, SimulatedDevice) async throws -> Void
    ) async {
        let start = MonotonicClock.nanoseconds()
        let progress = progress
        var handshaking = true
        do {
            var simulator = try identities[index].simulator(
                serverPublicKeyDER: serverPublicKeyDER,
                application: application
            )
            simulator.hello = hello
            simulator.firmware = firmware?(index)
            try await simulator.run(host: host, port: port, timeout: handshakeTimeout) { device in
                handshaking = false
                permits.release()
                progress.connected(startedAt: start)
                try await session(index, device)
            }
            progress.ended(nil)
        } catch {
            if handshaking {
                permits.release()
                progress.failed(error)
            } else {
                progress.ended(Task.isCancelled || error is CancellationError ? nil : error)
            }
        }
    }
}

extension DeviceFleet {
    /// Waits until every device has connected or failed, and returns the counters then.
    ///
    /// - Throws: ``BenchError`` when that takes more than `limit` seconds from `start`
    ///   (``MonotonicClock`` nanoseconds); a task group whose body throws it cancels the fleet.
    public func settled(since start: UInt64, within limit: Double) async throws -> Progress.Snapshot {
        var progress = self.progress.snapshot
        while progress.connected + progress.failed < identities.count {
            guard MonotonicClock.seconds(since: start) < limit else {
                throw BenchError(
                    "only \(progress.connected) of \(identities.count) devices connected within \(Int(limit)) s"
                )
            }
            try await Task.sleep(for: .milliseconds(20))
            progress = self.progress.snapshot
        }
        return progress
    }

    /// The fleet's counters, safe to read from any task.
    public final class Progress: Sendable {
        /// The counters at one moment.
        public struct Snapshot: Sendable {
            /// Devices through the handshake and Hello.
            public var connected = 0
            /// Devices whose connection, handshake or Hello failed.
            public var failed = 0
            /// Connected devices whose session has ended.
            public var ended = 0
            /// Connected devices whose session ended with an error (the server closed the
            /// connection, a publish failed) rather than by returning or by cancellation.
            public var dropped = 0
            /// The first failure or drop, as text.
            public var firstError: String?
            /// When the last device became connected (``MonotonicClock`` nanoseconds; 0: none).
            var lastConnectedAt: UInt64 = 0
            /// Connect → Hello answered, per connected device, in nanoseconds.
            var handshakeLatency = LatencyHistogram()
        }

        private let state = Mutex(Snapshot())

        init() {}

        /// The counters now.
        public var snapshot: Snapshot { state.withLock { $0 } }

        func connected(startedAt start: UInt64) {
            let now = MonotonicClock.nanoseconds()
            state.withLock { state in
                state.connected += 1
                state.lastConnectedAt = now
                state.handshakeLatency.record(now &- start)
            }
        }

        func failed(_ error: any Error) {
            state.withLock { state in
                state.failed += 1
                if state.firstError == nil { state.firstError = "\(error)" }
            }
        }

        func ended(_ error: (any Error)?) {
            state.withLock { state in
                state.ended += 1
                guard let error else { return }
                state.dropped += 1
                if state.firstError == nil { state.firstError = "\(error)" }
            }
        }
    }
}
