import ArgumentParser

/// The `aerosol` command: the server, its administration, and benchmarks.
@main
struct Aerosol: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "aerosol",
        abstract: "A self-hosted device cloud that speaks the Particle Cloud API.",
        discussion: """
            Start the server with `aerosol serve`, create an account with `aerosol user create`, then use
            the Particle Cloud API (curl, particle-api-js, the Particle CLI) against it.
            """,
        subcommands: [Serve.self, UserCommand.self, Bench.self]
    )
}
