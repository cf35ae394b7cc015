/// The summary table of `aerosol bench all`.
public enum BenchSummary {
    /// A plain-text table: benchmark, figure, measured value, target, met or MISSED.
    public static func table(_ rows: [SummaryRow]) -> String {
        Format.table(
            ["benchmark", "figure", "measured", "target", "result"],
            rows.map { [$0.benchmark, $0.figure, $0.value, $0.target, Format.verdict($0.met)] }
        )
    }
}
