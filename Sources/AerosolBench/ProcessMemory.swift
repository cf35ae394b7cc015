import Foundation

/// Resident memory of processes, from `/proc` (Linux).
enum ProcessMemory {
    /// `VmRSS` of `pid` in KiB.
    static func residentKiB(pid: Int32) throws -> Int {
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            if let kib = line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first.flatMap({
                Int($0)
            }) {
                return kib
            }
        }
        throw BenchError("no VmRSS line in /proc/\(pid)/status")
    }

    /// The children of `pid` (nginx's workers, say).
    static func children(of pid: Int32) -> [Int32] {
        let text = (try? String(contentsOfFile: "/proc/\(pid)/task/\(pid)/children", encoding: .utf8)) ?? ""
        return text.split(separator: " ").compactMap { Int32($0) }
    }

    /// A reading of `reading` once three readings 500 ms apart agree within 0.5 % (or after
    /// `limit` seconds), in KiB.
    static func steady(limit: Double = 20, _ reading: () throws -> Int) async throws -> Int {
        var readings = [try reading()]
        let start = MonotonicClock.nanoseconds()
        while MonotonicClock.seconds(since: start) < limit {
            try await Task.sleep(for: .milliseconds(500))
            readings.append(try reading())
            let last = readings.suffix(3)
            if last.count == 3, let low = last.min(), let high = last.max(), Double(high - low) <= 0.005 * Double(high)
            {
                return last.last ?? high
            }
        }
        return readings.last ?? 0
    }
}
