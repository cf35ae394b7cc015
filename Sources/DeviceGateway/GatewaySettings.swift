import Firmware

/// How the device gateway listens and treats devices. Every default here is the documented one
/// (docs/devices.md).
public struct GatewaySettings: Sendable {
    /// The address to listen on for devices (default `127.0.0.1`; `aerosol serve` uses `--host`
    /// unless `--device-host` is given).
    public var host = "127.0.0.1"
    /// This node's id when several nodes share one PostgreSQL database (`nil`: the only node).
    /// Devices are recorded on it, and requests for devices on other nodes are relayed.
    public var nodeID: String?
    /// How long a node may go without renewing its lease in the database before the other nodes
    /// take it as dead and its devices offline (default 30 s; renewed every quarter of it).
    public var nodeLease: Duration = .seconds(30)
    /// The TCP port for devices (default 5683, the port Device OS dials; 0 picks a free port).
    public var port = 5683
    /// Silence after which a device is taken as gone and its connection closed (default 60 s:
    /// about 2 × the device's 25 s ping interval). After half of it the server pings
    /// the device; a device that does not answer is closed at the full timeout.
    public var idleTimeout: Duration = .seconds(60)
    /// Time from accepting a connection until the device's Hello must have arrived (default 30 s,
    /// as the community server allows for the first encrypted message).
    public var helloTimeout: Duration = .seconds(30)
    /// How long a variable read, function call or signal waits for the device's answer
    /// (default 30 s); then the API answers 408.
    public var requestTimeout: Duration = .seconds(30)
    /// Sustained device publishes per second per device (default 1, as Particle's).
    public var publishRate: Double = 1
    /// Publishes a device may make in a burst above the sustained rate (default 4, as Particle's).
    public var publishBurst = 4
    /// The largest event data accepted from a device, in bytes (default 16384, the most any
    /// Device OS sends).
    public var maxEventDataBytes = 16_384
    /// The largest encrypted frame accepted, in bytes (default 16400: a 16 KiB event and its
    /// CoAP header). Longer frames close the connection.
    public var maxFrameBytes = 16_400
    /// How firmware transfers run (timeouts, fast OTA, resends); the defaults of
    /// `TransferConfiguration` (30 s for an answer, 30 s without progress, 8 retries of a chunk).
    public var firmwareTransfer = TransferConfiguration()
    /// How long after a transfer the device may take to restart and describe the new firmware
    /// before the update is given up as failed (default 5 minutes: a legacy device that cannot
    /// apply the file restarts after its own 300 s timeout).
    public var firmwareRestartTimeout: Duration = .seconds(300)
    /// Automatic product updates running at once, at most (default 20, `--ota-concurrency`).
    /// A device that connects while all are taken is updated on a later connection.
    public var otaConcurrency = 20
    /// Where product firmware binaries are kept (`<sha256>.bin`); `nil` turns automatic product
    /// updates off. `aerosol serve` sets it to the data directory's `firmware/`.
    public var firmwareDirectory: String?

    /// How often the times devices were last heard from are written to the database (default
    /// 2 s): `last_heard` follows a device's traffic this closely, without a write per message.
    /// A device's disconnect writes its time at once.
    public var lastHeardWriteInterval: Duration = .seconds(2)

    /// The address to listen on for UDP/DTLS devices (default `nil`: the same as ``host``).
    public var udpHost: String?
    /// The UDP port for DTLS devices (default 5684, the port Device OS dials; 0 picks a free
    /// port).
    public var udpPort = 5684
    /// Silence after which a UDP device is reported offline (its session is kept: it may resume
    /// later). Default `nil`: twice the device's keep-alive, which Device OS sets by network:
    /// 2 × 25 s for Wi-Fi and unknown platforms, 2 × 23 min for cellular ones (Electron, E Series,
    /// Boron, B SoM, B5 SoM, Tracker, Tracker M).
    public var udpOfflineAfter: Duration?
    /// The first retransmission timeout of the server's CoAP CONs to UDP devices (default 4 s, as
    /// Device OS; it doubles up to 3 retransmissions, and the CON is given up after 90 s).
    public var udpRetransmissionTimeout: Duration = .seconds(4)
    /// The most DTLS handshakes in progress at once (default 1000; each holds about 2 KiB). A
    /// ClientHello beyond it is answered with a stateless HelloVerifyRequest only.
    public var udpMaxHandshakes = 1000
    /// The most UDP device sessions kept (default 100,000; each holds a few KiB). A handshake
    /// that would make one more is refused.
    public var udpMaxSessions = 100_000

    /// How long a stored UDP session is kept without the device being heard (default 30 days:
    /// devices sleep for days and resume without a handshake).
    public var udpSessionLifetime: Duration = .seconds(30 * 86_400)

    /// The default settings.
    public init() {}
}
