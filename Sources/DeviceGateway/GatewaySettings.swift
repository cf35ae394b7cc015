import Firmware

/// How the device gateway listens and treats devices. Every default here is the documented one
/// (docs/devices.md).
public struct GatewaySettings: Sendable {
    /// The address to listen on for devices (default `127.0.0.1`; `aerosol serve` uses `--host`
    /// unless `--device-host` is given).
    public var host = "127.0.0.1"
    /// The TCP port for devices (default 5683, the port Device OS dials; 0 picks a free port).
    public var port = 5683
    /// Silence after which a device is taken as gone and its connection closed (default 60 s:
    /// about 2 × the device's 25 s ping interval, spec §7.7). After half of it the server pings
    /// the device; a device that does not answer is closed at the full timeout.
    public var idleTimeout: Duration = .seconds(60)
    /// Time from accepting a connection until the device's Hello must have arrived (default 30 s,
    /// as the community server allows for the first encrypted message).
    public var helloTimeout: Duration = .seconds(30)
    /// How long a variable read, function call or signal waits for the device's answer
    /// (default 30 s, spec §7.7); then the API answers 408.
    public var requestTimeout: Duration = .seconds(30)
    /// Sustained device publishes per second per device (default 1, spec §6.2).
    public var publishRate: Double = 1
    /// Publishes a device may make in a burst above the sustained rate (default 4, spec §6.2).
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

    /// The default settings.
    public init() {}
}
