/// How ``BenchServer`` starts `aerosol serve`.
public struct ServerOptions: Sendable {
    /// `--sync`: `full` (fsync every commit, the server's default) or `normal`.
    public var sync: String
    /// `--stream-buffer`: events a stream may have waiting; `nil` keeps the server's default (1,000).
    public var streamBuffer: Int?
    /// More `serve` arguments (e.g. `--allow-private-webhooks`).
    public var extraArguments: [String] = []

    /// Options; the defaults are the server's own.
    public init(sync: String = "full", streamBuffer: Int? = nil) {
        self.sync = sync
        self.streamBuffer = streamBuffer
    }

    /// The `serve` arguments these options add.
    var arguments: [String] {
        var arguments = ["--sync", sync]
        if let streamBuffer { arguments += ["--stream-buffer", String(streamBuffer)] }
        return arguments + extraArguments
    }
}
