import AerosolClient
import ArgumentParser

/// `aerosol product create|list`.
struct ProductCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "product",
        abstract: "Create and list products.",
        subcommands: [Create.self, List.self, ProductFirmwareCommand.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a product.",
            discussion: "Example:\n  aerosol product create 'My Product' --slug my-product"
        )
        @OptionGroup var client: ClientOptions
        @Argument(help: "The product's name.") var name: String
        @Option(help: "The URL-safe slug. (default: derived from the name)") var slug: String?
        @Option(help: "A description.") var description: String?

        func run() async throws {
            try await runReportingErrors {
                let product = try await client.client().createProduct(name: name, slug: slug, description: description)
                printLine("Created product \(product.name) (id \(product.id), slug \(product.slug))")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the products you belong to.",
            discussion: "Example:\n  aerosol product list"
        )
        @OptionGroup var client: ClientOptions

        func run() async throws {
            try await runReportingErrors {
                let products = try await client.client().listProducts()
                if products.isEmpty { printLine("No products.") }
                for product in products {
                    printLine("\(product.id)  \(product.slug)  \(product.name)")
                }
            }
        }
    }
}
