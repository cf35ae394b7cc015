extension BenchServer {
    /// The server's resident set once three readings 500 ms apart agree within 0.5 % (or after
    /// `limit` seconds), in KiB.
    func steadyResidentKiB(limit: Double = 20) async throws -> Int {
        var readings = [try residentKiB()]
        let start = MonotonicClock.nanoseconds()
        while MonotonicClock.seconds(since: start) < limit {
            try await Task.sleep(for: .milliseconds(500))
            readings.append(try residentKiB())
            let last = readings.suffix(3)
            if last.count == 3, let low = last.min(), let high = last.max(), Double(high - low) <= 0.005 * Double(high)
            {
                return last.last ?? high
            }
        }
        return readings.last ?? 0
    }

    /// The CPU seconds (user + system) the server has used so far.
    var cpuSeconds: Double { ProcessCPU.seconds(pid: pid) }
}
