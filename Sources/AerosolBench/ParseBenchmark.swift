import AerosolClient
import Foundation
import ServerSentEvents

/// How fast the SDK turns stream bytes into typed events on one core: the incremental SSE
/// parser plus `CloudEvent` decoding, over a recorded-style stream fed in network-sized chunks.
public struct ParseBenchmark: Sendable {
    /// Events in the synthetic stream (default 200,000).
    public var events: Int
    /// Bytes per chunk fed to the parser (default 16 KiB, a typical socket read).
    public var chunkSize: Int
    /// How many times the whole stream is parsed; the best run counts (default 5).
    public var rounds: Int

    /// A benchmark with the given sizes.
    public init(events: Int = 200_000, chunkSize: Int = 16_384, rounds: Int = 5) {
        self.events = events
        self.chunkSize = chunkSize
        self.rounds = rounds
    }

    /// The result of the best round.
    public struct Result: Sendable {
        /// Events decoded per second.
        public var eventsPerSecond: Double
        /// Megabytes of stream parsed per second.
        public var megabytesPerSecond: Double
        /// Events decoded in each round (all must be decoded).
        public var decoded: Int
    }

    /// A stream as Aerosol sends it: `:ok`, then frames with product fields and ids, with a
    /// keepalive every 100 events.
    func stream() -> [UInt8] {
        var text = ":ok\n\n"
        text.reserveCapacity(events * 210)
        for index in 1...events {
            text += "event: temperature/\(index % 10)\n"
            text += "data: {\"data\":\"\(20 + index % 15).\(index % 100)\",\"ttl\":60,"
            text += "\"published_at\":\"2026-11-27T14:54:42.326Z\",\"coreid\":\"0123456789abcdef01234567\","
            text += "\"userid\":\"\",\"version\":1,\"public\":false,\"productID\":1}\nid: \(index)\n\n"
            if index % 100 == 0 { text += ":keepalive\n" }
        }
        return Array(text.utf8)
    }

    /// Runs the rounds and returns the best.
    public func run() -> Result {
        let bytes = stream()
        var best = Double.infinity
        var decoded = 0
        for _ in 0..<rounds {
            var parser = ServerSentEventParser()
            var count = 0
            let start = DispatchTime.now().uptimeNanoseconds
            var offset = 0
            bytes.withUnsafeBufferPointer { buffer in
                while offset < buffer.count {
                    let end = min(offset + chunkSize, buffer.count)
                    parser.parse(UnsafeBufferPointer(rebasing: buffer[offset..<end])) { event in
                        if CloudEvent(event) != nil { count += 1 }
                    }
                    offset = end
                }
            }
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            best = min(best, seconds)
            decoded = count
        }
        return Result(
            eventsPerSecond: Double(events) / best,
            megabytesPerSecond: Double(bytes.count) / best / 1e6,
            decoded: decoded
        )
    }
}
