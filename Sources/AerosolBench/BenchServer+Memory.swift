extension BenchServer {
    /// The server's resident set once three readings 500 ms apart agree within 0.5 % (or after
    /// `limit` seconds), in KiB.
    func steadyResidentKiB(limit: Double = 20) async throws -> Int {
        try await ProcessMemory.steady(limit: limit) { try residentKiB() }
    }

    /// The CPU seconds (user + system) the server has used so far.
    var cpuSeconds: Double { ProcessCPU.seconds(pid: pid) }
}
