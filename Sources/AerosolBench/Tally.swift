/// What the client connections of one event loop (or, summed, of all) have counted.
struct Tally: Sendable {
    /// Complete event frames received on streams (after their `:ok`).
    var frames = 0
    /// Body bytes received on streams.
    var bytes = 0
    /// Streams that answered 200 and `:ok`.
    var streamsReady = 0
    /// Ready streams that the server closed (e.g. as too slow) before the benchmark did.
    var streamsLost = 0
    /// Streams refused or closed before `:ok`.
    var streamsFailed = 0
    /// Publishes answered 200.
    var acks = 0
    /// Publishes answered with another status.
    var rejects = 0
    /// Publisher connections closed before the benchmark closed them.
    var publishersLost = 0
    /// Publish-to-ack latencies, in nanoseconds.
    var ackLatency = LatencyHistogram()
    /// Publish-to-delivery latencies (subscribers reading send times), in nanoseconds.
    var deliveryLatency = LatencyHistogram()

    /// Adds another tally.
    mutating func add(_ other: Tally) {
        frames += other.frames
        bytes += other.bytes
        streamsReady += other.streamsReady
        streamsLost += other.streamsLost
        streamsFailed += other.streamsFailed
        acks += other.acks
        rejects += other.rejects
        publishersLost += other.publishersLost
        ackLatency.add(other.ackLatency)
        deliveryLatency.add(other.deliveryLatency)
    }
}
