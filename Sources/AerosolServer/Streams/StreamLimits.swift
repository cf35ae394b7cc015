import NIOCore

/// The limits and timings of event streams; every default is documented in the README.
struct StreamLimits: Sendable {
    /// Events a stream may have waiting (its connection cannot take them yet, or its replay is
    /// still running) before it is closed as too slow (default 1,000).
    var maxQueuedEvents = 1000
    /// Bytes a stream may have waiting before it is closed as too slow (default 1 MiB).
    var maxQueuedBytes = 1 << 20
    /// Silence after which a keepalive comment is written (default 8 s; checked every second,
    /// so a gap never reaches 9 s).
    var keepaliveAfter: TimeAmount = .seconds(8)
    /// Events an event loop may have waiting for its streams (default 20,000). Above it the log
    /// waits before committing more; a loop that stays above it for ``congestionSeconds`` has
    /// its streams closed as too slow.
    var loopBacklog = 20_000
    /// How many once-a-second checks in a row may find an event loop congested before its
    /// streams are closed (default 5).
    var congestionSeconds = 5
    /// Streams written per turn of an event loop before it lets other work in (a publisher's
    /// acknowledgement, another connection's request) and goes on (default 128).
    var writesPerTurn = 128
}
