import Foundation

/// CPU time from `/proc` (Linux): a process's (user + system), the calling thread's, and the
/// whole machine's busy time, so that a benchmark can tell its own CPU, the server's and what
/// other processes took from the shared cores.
enum ProcessCPU {
    /// Seconds of CPU used so far by `pid` (this process when `nil`); 0 where `/proc` is not
    /// available.
    static func seconds(pid: Int32? = nil) -> Double {
        let path = "/proc/\(pid.map(String.init) ?? "self")/stat"
        guard let text = try? String(contentsOfFile: path, encoding: .utf8),
            let close = text.lastIndex(of: ")")
        else { return 0 }
        // After the command name: state (field 3) … utime (14), stime (15).
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / ticksPerSecond
    }

    /// Seconds of CPU the calling thread has used (`CLOCK_THREAD_CPUTIME_ID`).
    static func threadSeconds() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

    /// Seconds of CPU all cores of the machine have been busy (not idle, not waiting for I/O)
    /// since boot, from the first line of `/proc/stat`; 0 where it is not available.
    static func machineBusySeconds() -> Double {
        guard let text = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
            let line = text.split(separator: "\n").first, line.hasPrefix("cpu ")
        else { return 0 }
        // cpu user nice system idle iowait irq softirq steal …
        let values = line.split(separator: " ").dropFirst().compactMap { Double($0) }
        guard values.count >= 8 else { return 0 }
        let busy = values[0] + values[1] + values[2] + values[5] + values[6] + values[7]
        return busy / ticksPerSecond
    }

    private static var ticksPerSecond: Double {
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        return ticks > 0 ? ticks : 100
    }
}
