import Foundation

/// The process's own CPU time, memory and file descriptors, read from `/proc/self` (Linux) when
/// the metrics are read. Fields that cannot be read are `nil` and left out.
struct ProcessStatistics: Sendable {
    var cpuSeconds: Double?
    var residentBytes: Double?
    var virtualBytes: Double?
    var startTime: Double?
    var openFiles: Double?
    var maxOpenFiles: Double?

    /// A reading now.
    static func read() -> ProcessStatistics {
        var statistics = ProcessStatistics()
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        let page = Double(sysconf(Int32(_SC_PAGESIZE)))
        // /proc/self/stat: "pid (comm) state ppid …"; the command may hold spaces, so the fields
        // are counted from the last ')'. After it, field 3 (state) is index 0.
        if let stat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        {
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            func field(_ number: Int) -> Double? {
                let index = number - 3
                return fields.indices.contains(index) ? Double(fields[index]) : nil
            }
            if let user = field(14), let system = field(15), ticks > 0 {
                statistics.cpuSeconds = (user + system) / ticks
            }
            statistics.virtualBytes = field(23)
            statistics.residentBytes = field(24).map { $0 * page }
            if let started = field(22), let boot = bootTime(), ticks > 0 {
                statistics.startTime = boot + started / ticks
            }
        }
        if let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") {
            statistics.openFiles = Double(entries.count)
        }
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 { statistics.maxOpenFiles = Double(limit.rlim_cur) }
        return statistics
    }

    /// The `btime` line of `/proc/stat`: when the machine booted, in seconds since the epoch.
    private static func bootTime() -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/stat", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("btime ") {
            return Double(line.dropFirst("btime ".count))
        }
        return nil
    }
}
