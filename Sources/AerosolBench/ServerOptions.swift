/// How ``BenchServer`` starts `aerosol serve`.
public struct ServerOptions: Sendable {
    /// `--sync`: `full` (fsync every commit, the server's default) or `normal`.
    public var sync: String
    /// `--stream-buffer`: events a stream may have waiting; `nil` keeps the server's default (1,000).
    public var streamBuffer: Int?
    /// `--rate-limits`: `false` (the default here, not the server's) turns off the limits per
    /// client address: a benchmark's thousands of streams, connections and requests all come
    /// from 127.0.0.1.
    public var rateLimits = false
    /// More `serve` arguments (e.g. `--allow-private-webhooks`).
    public var extraArguments: [String] = []
    /// `--database`: a PostgreSQL database instead of SQLite in the fresh data directory.
    public var database: String?

    /// Options; the defaults are the server's own, except ``rateLimits``.
    public init(sync: String = "full", streamBuffer: Int? = nil) {
        self.sync = sync
        self.streamBuffer = streamBuffer
    }

    /// The `serve` arguments these options add.
    var arguments: [String] {
        var arguments = ["--sync", sync, "--rate-limits", rateLimits ? "on" : "off"]
        if let streamBuffer { arguments += ["--stream-buffer", String(streamBuffer)] }
        if let database { arguments += ["--database", database] }
        return arguments + extraArguments
    }
}
