import ArgumentParser

/// `aerosol bench …`: the project's benchmarks (see docs/benchmarks.md).
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the benchmarks against a server started for the purpose.",
        subcommands: []
    )
}
