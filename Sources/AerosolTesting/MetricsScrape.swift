import Foundation

/// One read of `GET /metrics`: the text, and the value of a series by its exact name and labels
/// as written (`aerosol_http_requests_total{route="/healthz",method="GET",status="200"}`).
public struct MetricsScrape: Sendable {
    public let text: String
    public let contentType: String?

    /// Reads `/metrics` of `server`.
    public static func read(_ server: TestServer) async throws -> MetricsScrape {
        let response = try await server.request(.GET, "/metrics")
        guard response.status == 200 else { throw TestFailure("GET /metrics answered \(response.status)") }
        return MetricsScrape(text: response.text, contentType: response.header("Content-Type"))
    }

    /// The value of `series`, or 0 when it is not there (a counter not counted yet).
    public func value(_ series: String) -> Double {
        for line in text.split(separator: "\n") where line.hasPrefix(series + " ") {
            return Double(line.dropFirst(series.count + 1)) ?? .nan
        }
        return 0
    }

    /// Whether `series` is written at all.
    public func has(_ series: String) -> Bool {
        text.split(separator: "\n").contains { $0.hasPrefix(series + " ") }
    }

    /// The families written without a `# HELP` line right before their `# TYPE` line.
    public var familiesWithoutHelp: [String] {
        let lines = text.split(separator: "\n")
        return lines.indices.compactMap { index in
            guard lines[index].hasPrefix("# TYPE ") else { return nil }
            let name = String(lines[index].split(separator: " ")[2])
            return index > 0 && lines[index - 1].hasPrefix("# HELP \(name) ") ? nil : name
        }
    }

    /// What `promtool check metrics` (Prometheus' linter) finds wrong with the text: empty when
    /// nothing, or when promtool is not installed (CI installs it and sets
    /// `AEROSOL_REQUIRE_PROMTOOL=1`, which makes a missing promtool an error).
    public func promtoolProblems() throws -> String {
        let candidates = ["/usr/bin/promtool", "/usr/local/bin/promtool"]
        guard let promtool = candidates.first(where: FileManager.default.isExecutableFile(atPath:)) else {
            if ProcessInfo.processInfo.environment["AEROSOL_REQUIRE_PROMTOOL"] == "1" {
                throw TestFailure("promtool is not installed (apt-get install prometheus)")
            }
            return ""
        }
        let process = ChildProcess()
        process.executableURL = URL(fileURLWithPath: promtool)
        process.arguments = ["check", "metrics"]
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = output
        try process.run()
        input.fileHandleForWriting.write(Data(text.utf8))
        try input.fileHandleForWriting.close()
        let said = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return process.terminationStatus == 0 ? "" : String(decoding: said, as: UTF8.self)
    }
}
