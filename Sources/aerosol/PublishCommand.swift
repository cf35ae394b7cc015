import AerosolClient
import ArgumentParser

/// `aerosol publish NAME [DATA]`.
struct PublishCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "publish",
        abstract: "Publish an event to your stream or a product's.",
        discussion: "Examples:\n  aerosol publish temperature 21.5\n  aerosol publish alarm --product my-product"
    )

    @OptionGroup var client: ClientOptions
    @Argument(help: "The event name (1 to 64 characters).") var name: String
    @Argument(help: "The event data.") var data: String?
    @Option(help: "Publish to this product (id or slug) instead of your own stream.") var product: String?
    @Option(help: "Time to live in seconds, echoed to subscribers. (default: 60)") var ttl: Int?

    func run() async throws {
        try await runReportingErrors {
            try await client.client().publish(name: name, data: data, product: product, ttl: ttl)
            printLine("Published \(name)")
        }
    }
}
