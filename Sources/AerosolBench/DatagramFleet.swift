// swift-crypto 3.12.3 does not mark its P-256 keys Sendable, though they are immutable values.
@preconcurrency import Crypto
import DeviceGateway
import DeviceProtocol

/// Many simulated UDP devices talking to one gateway at once, each over the real protocol (DTLS
/// handshake with raw public keys and a connection ID, CoAP in AES-CCM records, Hello) from a
/// socket of its own: what `aerosol bench udp-devices` and `aerosol bench udp-latency` run.
///
/// A device's DTLS session outlives its run: running the same fleet again resumes every session
/// from a new socket (so a new source port) with no handshake, as Device OS does after sleep.
/// At most ``concurrentHandshakes`` devices are between their first datagram and the end of
/// their Hello (or their resume ping's answer) at any time; a connected device no longer counts.
public struct DatagramFleet: Sendable {
    /// The devices, in the order they connect.
    public let simulators: [DatagramSimulator]
    /// The gateway's address (default `127.0.0.1`).
    public var host = "127.0.0.1"
    /// The gateway's UDP port.
    public let port: Int
    /// Devices handshaking (or resuming) at once, at most (default 64).
    public var concurrentHandshakes = 64
    /// Time a device has from its first datagram to the end of its Hello or resume (default 30 s).
    public var handshakeTimeout: Duration = .seconds(30)
    /// What has happened in this fleet's runs; readable from any task while ``run(_:)`` runs.
    public let progress = DeviceFleet.Progress()

    /// A fleet of `simulators` for the gateway's UDP `port`.
    public init(simulators: [DatagramSimulator], port: Int) {
        self.simulators = simulators
        self.port = port
    }

    /// `count` devices with random ids and new EC P-256 keys for the server whose EC public key
    /// is given, and the keys to provision for them. A P-256 key takes microseconds, so unlike
    /// the TCP devices' RSA keys they are made every run and never stored.
    public static func generate(count: Int, serverPublicKey: P256.Signing.PublicKey) throws -> (
        simulators: [DatagramSimulator], keys: [BenchServer.ProvisionedKey]
    ) {
        var generator = SystemRandomNumberGenerator()
        var simulators: [DatagramSimulator] = []
        var keys: [BenchServer.ProvisionedKey] = []
        simulators.reserveCapacity(count)
        keys.reserveCapacity(count)
        for _ in 0..<count {
            let bytes = (0..<12).map { _ in UInt8.random(in: 0...255, using: &generator) }
            guard let id = DeviceID(bytes: bytes) else { throw BenchError("could not make a device id") }
            let key = P256.Signing.PrivateKey()
            simulators.append(DatagramSimulator(deviceID: id, privateKey: key, serverPublicKey: serverPublicKey))
            keys.append(BenchServer.ProvisionedKey(id: id, publicKeyPEM: key.publicKey.pemRepresentation))
        }
        return (simulators, keys)
    }

    /// Connects (or resumes) every device, then runs `session` with each connected device (its
    /// index in ``simulators`` and the device) until `session` returns or throws; the device then
    /// closes its socket and keeps its session. Returns when every device has ended: cancel the
    /// calling task to end them all. Failures are counted in ``progress``, never thrown.
    public func run(_ session: @escaping @Sendable (Int, SimulatedDevice) async throws -> Void) async {
        let permits = Permits(concurrentHandshakes)
        await withDiscardingTaskGroup { group in
            for index in simulators.indices {
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
            try await simulators[index].run(host: host, port: port, timeout: handshakeTimeout) { device in
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

    /// Waits until every device has connected or failed, and returns the counters then.
    ///
    /// - Throws: ``BenchError`` when that takes more than `limit` seconds from `start`
    ///   (``MonotonicClock`` nanoseconds).
    public func settled(since start: UInt64, within limit: Double) async throws -> DeviceFleet.Progress.Snapshot {
        var snapshot = progress.snapshot
        while snapshot.connected + snapshot.failed < simulators.count {
            guard MonotonicClock.seconds(since: start) < limit else {
                throw BenchError(
                    "only \(snapshot.connected) of \(simulators.count) UDP devices connected within \(Int(limit)) s"
                )
            }
            try await Task.sleep(for: .milliseconds(5))
            snapshot = progress.snapshot
        }
        return snapshot
    }
}
