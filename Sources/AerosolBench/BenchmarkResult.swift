import Foundation

/// What every benchmark returns: its figures as JSON, a text block, and one summary row.
public protocol BenchmarkResult: Codable, Sendable {
    /// The benchmark's name (`ingest`, `fanout`, `latency`, `idle`).
    var benchmark: String { get }
    /// The multi-line result block.
    var report: String { get }
    /// The headline figure against its target.
    var summary: SummaryRow { get }
}

extension BenchmarkResult {
    /// The figures as one line of JSON (snake_case keys, sorted).
    public var jsonLine: String {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(self) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }
}

/// One line of a benchmark summary: the headline figure, its target, and whether it met it.
public struct SummaryRow: Sendable {
    /// The benchmark's name.
    public let benchmark: String
    /// What the figure measures, with its unit.
    public let figure: String
    /// The figure as measured.
    public let value: String
    /// The target, e.g. `≥ 15000`.
    public let target: String
    /// Whether the figure met the target.
    public let met: Bool
}

/// Formatting shared by the result blocks.
enum Format {
    /// `value` with `digits` decimals.
    static func number(_ value: Double, _ digits: Int = 0) -> String {
        String(format: "%.\(digits)f", value)
    }

    /// Milliseconds from nanoseconds, with two decimals.
    static func milliseconds(_ nanoseconds: UInt64) -> Double {
        (Double(nanoseconds) / 1e4).rounded() / 100
    }

    /// A titled block of `name: value` lines, names aligned.
    static func block(_ title: String, _ lines: [(String, String)]) -> String {
        let width = lines.map(\.0.count).max() ?? 0
        let body = lines.map { name, value in
            "  " + name + ":" + String(repeating: " ", count: width - name.count + 1) + value
        }
        return ([title] + body).joined(separator: "\n")
    }

    /// "met" or "MISSED".
    static func verdict(_ met: Bool) -> String { met ? "met" : "MISSED" }

    /// A plain-text table with a header row, columns padded to their widest cell.
    static func table(_ header: [String], _ rows: [[String]]) -> String {
        let all = [header] + rows
        let widths = header.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
        func line(_ cells: [String]) -> String {
            let padded = zip(cells, widths).map { cell, width in
                cell + String(repeating: " ", count: width - cell.count)
            }
            var text = padded.joined(separator: "  ")
            while text.last == " " { text.removeLast() }
            return text
        }
        let rule = widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")
        return ([line(header), rule] + rows.map(line)).joined(separator: "\n")
    }
}
