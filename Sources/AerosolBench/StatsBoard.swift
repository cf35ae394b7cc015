import NIOCore

/// One ``LoopCounters`` per event loop of a group, so that connection handlers count in their
/// own loop without synchronisation, and the benchmark sums the loops when it needs a figure.
final class StatsBoard: Sendable {
    private let boards: [ObjectIdentifier: NIOLoopBound<LoopCounters>]
    private let loops: [any EventLoop]

    /// Counters for every loop of `group`.
    init(group: any EventLoopGroup) async throws {
        var boards: [ObjectIdentifier: NIOLoopBound<LoopCounters>] = [:]
        var loops: [any EventLoop] = []
        for loop in group.makeIterator() {
            boards[ObjectIdentifier(loop)] = try await loop.submit { NIOLoopBound(LoopCounters(), eventLoop: loop) }
                .get()
            loops.append(loop)
        }
        self.boards = boards
        self.loops = loops
    }

    /// The counters of `loop`; call only on `loop` (a channel initialiser, a handler).
    func counters(on loop: any EventLoop) -> LoopCounters {
        guard let board = boards[ObjectIdentifier(loop)] else {
            preconditionFailure("event loop outside the group the stats board was made for")
        }
        return board.value
    }

    /// The sum once every ready stream has a frame for every acknowledged publish, or after
    /// `seconds` (the last deliveries of a paced run still on their way).
    func totalOnceDelivered(within seconds: Double = 3) async throws -> Tally {
        var tally = try await total()
        let start = MonotonicClock.nanoseconds()
        while tally.frames < tally.acks * tally.streamsReady, MonotonicClock.seconds(since: start) < seconds {
            try await Task.sleep(for: .milliseconds(20))
            tally = try await total()
        }
        return tally
    }

    /// The sum over all loops; with `resetLatency`, each loop's latency histograms are emptied
    /// after they are read, so the next total covers only what follows.
    func total(resetLatency: Bool = false) async throws -> Tally {
        var sum = Tally()
        for loop in loops {
            guard let board = boards[ObjectIdentifier(loop)] else { continue }
            let tally = try await loop.submit {
                let tally = board.value.tally
                if resetLatency {
                    board.value.tally.ackLatency = LatencyHistogram()
                    board.value.tally.deliveryLatency = LatencyHistogram()
                }
                return tally
            }.get()
            sum.add(tally)
        }
        return sum
    }
}
