import ArgumentParser

/// The `aerosol` command: the server, its administration, and benchmarks.
@main
struct Aerosol: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "aerosol",
        abstract: "A self-hosted device cloud that speaks the Particle Cloud API.",
        discussion: """
            Start the server with `aerosol serve`, create an account with `aerosol user create`, then \
            use the client commands below, or any Particle Cloud API client (curl, particle-api-js, \
            the Particle CLI) against it.
            """,
        groupedSubcommands: [
            CommandGroup(
                name: "Server",
                subcommands: [
                    Serve.self, UserCommand.self, KeysCommand.self, BackupCommand.self, RestoreCommand.self, Bench.self,
                ]
            ),
            CommandGroup(
                name: "Client",
                subcommands: [
                    LoginCommand.self, LogoutCommand.self, TokenCommand.self, ListCommand.self, ProductCommand.self,
                    DeviceCommand.self, GetCommand.self, CallCommand.self, PublishCommand.self, SubscribeCommand.self,
                    WebhookCommand.self, FlashCommand.self,
                ]
            ),
        ]
    )
}
