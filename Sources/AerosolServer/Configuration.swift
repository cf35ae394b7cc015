import AerosolModels
import AerosolStore
import DeviceGateway
import Logging
import Webhooks

/// Everything `aerosol serve` can be told. Every default here is the documented one.
public struct Configuration: Sendable {
    /// The address to listen on (default `127.0.0.1`).
    public var host = "127.0.0.1"
    /// The HTTP port (default 8080; 0 picks a free port).
    public var port = 8080
    /// Where the database and the server secret live (default `./aerosol-data`).
    public var dataDirectory = "./aerosol-data"
    /// The log level (default `info`).
    public var logLevel: Logger.Level = .info
    /// The largest event `data` accepted from REST publishes, in bytes (default 1024, at most 16384).
    public var maxEventDataBytes = 1024
    /// The largest request body accepted, in bytes (default 64 KiB).
    public var maxRequestBodyBytes = 64 * 1024
    /// The largest firmware binary accepted by an upload, in bytes (default 4 MiB,
    /// `--max-firmware-size`); a larger one is refused with 413 while it streams in.
    public var maxFirmwareBytes = 4 * 1024 * 1024
    /// How long a connection may stay idle, or take between two parts of a request, before it
    /// is closed (default 30 s): a client that never sends a request, never finishes its
    /// headers or trickles them (slowloris) cannot hold a connection longer.
    public var idleTimeout: Duration = .seconds(30)
    /// How long events are kept for replay (default 24 hours).
    public var retentionAge: Duration = .seconds(86_400)
    /// How many events are kept for replay at most (default 1,000,000).
    public var retentionCount = 1_000_000
    /// Silence after which a stream gets a keepalive comment (default 8 s, so gaps stay under 9 s).
    public var keepaliveAfter: Duration = .seconds(8)
    /// Events a stream may have waiting before it is closed as too slow (default 1,000).
    public var subscriberMaxEvents = 1000
    /// Bytes a stream may have waiting before it is closed as too slow (default 1 MiB).
    public var subscriberMaxBytes = 1 << 20
    /// A PostgreSQL database (`postgres://…`) to keep everything in instead of the SQLite file in
    /// the data directory (default `nil`: SQLite). Nodes naming the same database cooperate.
    public var databaseURL: String?
    /// The most connections this node opens to PostgreSQL (default 10).
    public var databaseConnections = 10
    /// How commits reach the disk (default `full`: fsync before acknowledging).
    public var synchronous: Database.Synchronous = .full
    /// The bcrypt cost for new passwords (default 10).
    public var bcryptCost: UInt8 = 10
    /// Default lifetime of tokens from `POST /oauth/token` in seconds (default 7776000, 90 days).
    public var defaultTokenLifetime = 7_776_000
    /// The base URL shown in error hints (default derived from host and port).
    public var publicURL: String?
    /// Webhook delivery: private targets, rate limit, timeout, retries, pauses, queue bounds
    /// (every default is documented on ``WebhookSettings`` and in docs/webhooks.md).
    public var webhooks = WebhookSettings()
    /// The TCP port devices connect to (default 5683, the port Device OS dials; 0 picks a free
    /// port).
    public var devicePort = 5683
    /// The address the device gateway listens on (default `nil`: the same as ``host``).
    public var deviceHost: String?
    /// The UDP port DTLS devices (Gen3, Gen4) send to (default 5684, the port Device OS dials
    /// whatever its key blob says; 0 picks a free port).
    public var udpDevicePort = 5684
    /// The address the UDP device gateway listens on (default `nil`: the same as
    /// ``deviceHost``).
    public var udpDeviceHost: String?
    /// The device gateway's timeouts and limits (every default is documented on
    /// ``GatewaySettings`` and in docs/devices.md); its host and port come from ``deviceHost``
    /// and ``devicePort``.
    public var gateway = GatewaySettings()

    /// How long a web console sign-in lasts (default 12 hours).
    public var consoleSessionLifetime: Duration = .seconds(12 * 3600)
    /// Whether the console's cookies are marked `Secure` (default `false`; they are also marked
    /// when a proxy says the request came over HTTPS with `X-Forwarded-Proto: https`).
    public var secureCookies = false
    /// Addresses of reverse proxies whose `X-Forwarded-For` names the client (for the
    /// per-address sign-in lockout, the limits per client address and log lines); empty: the connection's peer is the client.
    public var trustedProxies: [String] = []
    /// Where `GET /metrics` (Prometheus) is served: `nil` (the default) on the API port, `0`
    /// nowhere (swift-metrics is then never bootstrapped, and counting costs nothing), any other
    /// port on a listener of its own on ``host``.
    public var metricsPort: Int?
    /// The limits per client address: requests, token requests and stream opens per window,
    /// open streams and connections (defaults Particle's, documented on ``ClientLimits``).
    public var clientLimits = ClientLimits()

    /// The clock the server runs on (token and session expiry, sign-in lockouts, keepalives);
    /// tests set a ``ManualClock``.
    public var clock: any CloudClock = SystemClock()
    /// The sign-in lockout: consecutive failures for an account from one address before it is
    /// locked (default 10, as Particle) and for how long (default 30 minutes).
    public var signInFailureLimit = 10
    /// How long sign-ins stay locked after too many failures (default 30 minutes).
    public var signInLockout: Duration = .seconds(30 * 60)

    /// The default configuration.
    public init() {}

    /// The largest `maxEventDataBytes` allowed.
    public static let eventDataLimitCeiling = 16_384
}
