import DeviceGateway
import Foundation

/// `aerosol bench udp-devices`: many UDP/DTLS devices on one server: the server memory each
/// costs, the rate of full DTLS handshakes, and how fast they all come back by resuming.
///
/// The bench makes a new EC P-256 key per device (microseconds each), provisions them
/// (`algorithm=ecc`) and adds them to the bench product over HTTP, reads the server's resident
/// set once steady, then:
///
/// 1. every device handshakes (DTLS 1.2, raw public keys, connection ID, then the Hello and the
///    device-initiated Describes; ``concurrentHandshakes`` in flight), each from a socket of its
///    own. Handshakes per second = devices / (first ClientHello → last Hello answered). Connected
///    devices ping every 25 s, as Device OS does, so the gateway's 50 s silence limit never
///    ends them;
/// 2. once the resident set is steady again, its growth is divided by the devices;
/// 3. every device closes its socket (keeping its session, as a sleeping device does), then all
///    resume at once from new sockets (new source ports): no handshake, records with the
///    connection ID and a CoAP ping, ``concurrentResumes`` in flight. Time to resume = first
///    ping → last ping answered.
///
/// The devices run in the bench process, on the same cores as the server.
public struct UDPDevicesBenchmark: Sendable {
    /// Devices (default 10,000).
    public var devices = 10_000
    /// Devices handshaking at once (default 64).
    public var concurrentHandshakes = 64
    /// Devices resuming at once (default 256).
    public var concurrentResumes = 256
    /// The server's `--sync` mode (default `full`, the server's own default).
    public var sync = "full"
    /// The target: KiB of server memory per connected device, at most.
    public static let targetKiB = 8.0
    /// The target: full handshakes per second, at least.
    public static let targetHandshakesPerSecond = 1000.0
    /// The target: seconds until every device has resumed, at most.
    public static let targetResumeSeconds = 10.0

    /// A benchmark with the defaults.
    public init() {}

    /// What it measured.
    public struct Result: BenchmarkResult {
        public var benchmark = "udp-devices"
        public var devices: Int
        public var connected: Int
        public var failed: Int
        public var firstError: String?
        public var secondsToConnect: Double
        public var handshakesPerSecond: Double
        public var handshakeP50Ms: Double
        public var handshakeP99Ms: Double
        public var serverCpuMsPerHandshake: Double
        public var benchCpuMsPerHandshake: Double
        public var otherProcessesCores: Double
        public var rssBeforeKib: Int
        public var rssAfterKib: Int
        public var kibPerDevice: Double
        public var resumed: Int
        public var resumeFailed: Int
        public var resumeFirstError: String?
        public var secondsToResume: Double
        public var resumeP50Ms: Double
        public var resumeP99Ms: Double
        public var serverCpuMsPerResume: Double
        public var keyGenerationSeconds: Double
        public var setupSeconds: Double
        public var targetKib: Double
        public var targetHandshakesPerSecond: Double
        public var targetResumeSeconds: Double
        public var metMemoryTarget: Bool
        public var metHandshakeTarget: Bool
        public var metResumeTarget: Bool

        public var report: String {
            Format.block(
                "udp-devices: \(devices) simulated UDP/DTLS devices on one server (devices in this process)",
                [
                    ("KiB per connected device", Format.number(kibPerDevice, 2)),
                    ("RSS before / after", "\(rssBeforeKib) / \(rssAfterKib) KiB"),
                    ("full handshakes per second", Format.number(handshakesPerSecond, 1)),
                    ("devices connected", "\(connected) of \(devices) in \(Format.number(secondsToConnect, 2)) s"),
                    ("failed to connect", "\(failed)" + (firstError.map { " (first: \($0))" } ?? "")),
                    (
                        "ClientHello → Hello answered p50 / p99",
                        "\(Format.number(handshakeP50Ms, 2)) / \(Format.number(handshakeP99Ms, 2)) ms"
                    ),
                    (
                        "CPU per handshake: server / bench",
                        "\(Format.number(serverCpuMsPerHandshake, 3)) / \(Format.number(benchCpuMsPerHandshake, 3)) ms"
                    ),
                    ("other processes while connecting", "\(Format.number(otherProcessesCores, 2)) cores busy"),
                    (
                        "resumed from new ports",
                        "\(resumed) of \(connected) in \(Format.number(secondsToResume, 2)) s, \(resumeFailed) failed"
                            + (resumeFirstError.map { " (first: \($0))" } ?? "")
                    ),
                    (
                        "resume ping → answer p50 / p99",
                        "\(Format.number(resumeP50Ms, 2)) / \(Format.number(resumeP99Ms, 2)) ms"
                    ),
                    ("server CPU per resume", "\(Format.number(serverCpuMsPerResume, 3)) ms"),
                    (
                        "device keys (P-256) / provisioning",
                        "\(Format.number(keyGenerationSeconds, 2)) s / \(Format.number(setupSeconds, 2)) s"
                    ),
                    (
                        "target",
                        "≤ \(Format.number(targetKib)) KiB per device: \(Format.verdict(metMemoryTarget)); "
                            + "≥ \(Format.number(targetHandshakesPerSecond)) handshakes/s: \(Format.verdict(metHandshakeTarget)); "
                            + "all resumed ≤ \(Format.number(targetResumeSeconds)) s: \(Format.verdict(metResumeTarget))"
                    ),
                ]
            )
        }

        public var summary: SummaryRow {
            SummaryRow(
                benchmark: benchmark,
                figure: "KiB per device / handshakes/s / s to resume all (\(devices) UDP devices)",
                value:
                    "\(Format.number(kibPerDevice, 2)) / \(Format.number(handshakesPerSecond, 1)) / \(Format.number(secondsToResume, 2))",
                target:
                    "≤ \(Format.number(targetKib)) / ≥ \(Format.number(targetHandshakesPerSecond)) / ≤ \(Format.number(targetResumeSeconds))",
                met: metMemoryTarget && metHandshakeTarget && metResumeTarget
            )
        }
    }

    /// Starts a server, measures, stops the server.
    public func run() async throws -> Result {
        try await BenchServer.run(ServerOptions(sync: sync)) { server in
            try await measure(server)
        }
    }

    private func measure(_ server: BenchServer) async throws -> Result {
        let serverKey = try ECServerKeyFile.load(at: server.udpServerKeyPath).signingKey.publicKey
        let keyStart = MonotonicClock.nanoseconds()
        let (simulators, keys) = try DatagramFleet.generate(count: devices, serverPublicKey: serverKey)
        let keySeconds = MonotonicClock.seconds(since: keyStart)
        let setupStart = MonotonicClock.nanoseconds()
        try await server.provision(keys: keys, algorithm: "ecc")
        let setupSeconds = MonotonicClock.seconds(since: setupStart)

        var fleet = DatagramFleet(simulators: simulators, port: server.udpDevicePort)
        fleet.concurrentHandshakes = concurrentHandshakes
        let count = simulators.count
        let before = try await server.steadyResidentKiB()

        // 1 and 2: full handshakes, then the memory while every device is connected.
        let connecting = try await withThrowingTaskGroup(of: Void.self, returning: Connecting.self) { group in
            let serverCPU = server.cpuSeconds
            let benchCPU = ProcessCPU.seconds()
            let machineCPU = ProcessCPU.machineBusySeconds()
            let start = MonotonicClock.nanoseconds()
            group.addTask { [fleet] in
                await fleet.run { index, device in
                    try await DevicesBenchmark.keepAlive(device, phase: .milliseconds(index * 7919 % 25_000))
                }
            }
            let progress = try await fleet.settled(since: start, within: Double(count) / 50 + 60)
            let serverSeconds = server.cpuSeconds - serverCPU
            let benchSeconds = ProcessCPU.seconds() - benchCPU
            let machineSeconds = ProcessCPU.machineBusySeconds() - machineCPU
            let elapsed = MonotonicClock.seconds(since: start)
            let after = try await server.steadyResidentKiB()
            // Every device closes its socket and keeps its session.
            group.cancelAll()
            try await group.waitForAll()
            return Connecting(
                progress: progress,
                seconds: Double(progress.lastConnectedAt &- start) / 1e9,
                serverSeconds: serverSeconds,
                benchSeconds: benchSeconds,
                otherCores: max(0, machineSeconds - serverSeconds - benchSeconds) / max(elapsed, 0.001),
                after: after
            )
        }

        // 3: every device resumes from a new socket, all at once.
        var resuming = DatagramFleet(simulators: simulators, port: server.udpDevicePort)
        resuming.concurrentHandshakes = concurrentResumes
        let resumeCPU = server.cpuSeconds
        let resumeStart = MonotonicClock.nanoseconds()
        await resuming.run { _, _ in }
        let resumed = resuming.progress.snapshot
        let resumeSeconds = Double(resumed.lastConnectedAt &- resumeStart) / 1e9
        let resumeServerSeconds = server.cpuSeconds - resumeCPU

        let progress = connecting.progress
        let connected = progress.connected
        let handshakes = connecting.seconds > 0 ? Double(connected) / connecting.seconds : 0
        let perDevice = Double(connecting.after - before) / Double(max(1, connected))
        return Result(
            devices: count,
            connected: connected,
            failed: progress.failed,
            firstError: progress.firstError,
            secondsToConnect: connecting.seconds,
            handshakesPerSecond: handshakes,
            handshakeP50Ms: Format.milliseconds(progress.handshakeLatency.percentile(0.50)),
            handshakeP99Ms: Format.milliseconds(progress.handshakeLatency.percentile(0.99)),
            serverCpuMsPerHandshake: 1000 * connecting.serverSeconds / Double(max(1, connected)),
            benchCpuMsPerHandshake: 1000 * connecting.benchSeconds / Double(max(1, connected)),
            otherProcessesCores: connecting.otherCores,
            rssBeforeKib: before,
            rssAfterKib: connecting.after,
            kibPerDevice: perDevice,
            resumed: resumed.connected,
            resumeFailed: resumed.failed,
            resumeFirstError: resumed.firstError,
            secondsToResume: resumeSeconds,
            resumeP50Ms: Format.milliseconds(resumed.handshakeLatency.percentile(0.50)),
            resumeP99Ms: Format.milliseconds(resumed.handshakeLatency.percentile(0.99)),
            serverCpuMsPerResume: 1000 * resumeServerSeconds / Double(max(1, resumed.connected)),
            keyGenerationSeconds: keySeconds,
            setupSeconds: setupSeconds,
            targetKib: Self.targetKiB,
            targetHandshakesPerSecond: Self.targetHandshakesPerSecond,
            targetResumeSeconds: Self.targetResumeSeconds,
            metMemoryTarget: connected == count && perDevice <= Self.targetKiB,
            metHandshakeTarget: connected == count && handshakes >= Self.targetHandshakesPerSecond,
            metResumeTarget: resumed.connected == count && resumeSeconds <= Self.targetResumeSeconds
        )
    }

    /// What the handshake phase hands back.
    private struct Connecting: Sendable {
        var progress: DeviceFleet.Progress.Snapshot
        var seconds: Double
        var serverSeconds: Double
        var benchSeconds: Double
        var otherCores: Double
        var after: Int
    }
}
