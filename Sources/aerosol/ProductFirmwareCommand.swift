import AerosolClient
import ArgumentParser
import Foundation

/// `aerosol product firmware upload|list|release`.
struct ProductFirmwareCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "firmware",
        abstract: "Upload, list and release a product's firmware versions.",
        subcommands: [Upload.self, List.self, Release.self]
    )

    struct Upload: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Upload a firmware version (its number must be the binary's PRODUCT_VERSION)."
        )

        @OptionGroup var client: ClientOptions
        @Argument(help: "The product (id or slug).") var product: String
        @Argument(help: "The compiled application binary (.bin).") var file: String
        @Option(help: "The version number.") var version: Int
        @Option(help: "A short title.") var title: String
        @Option(help: "A description.") var description = ""

        func run() async throws {
            try await runReportingErrors {
                guard let data = FileManager.default.contents(atPath: file) else {
                    throw CLIError("cannot read \(file)")
                }
                let stored = try await client.client().uploadProductFirmware(
                    product,
                    binary: Array(data),
                    version: version,
                    title: title,
                    description: description,
                    fileName: (file as NSString).lastPathComponent
                )
                printLine("Uploaded version \(version) (\(stored["size"]?.intValue ?? 0) bytes)")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the product's firmware versions.")

        @OptionGroup var client: ClientOptions
        @Argument(help: "The product (id or slug).") var product: String

        func run() async throws {
            try await runReportingErrors {
                let versions = try await client.client().listProductFirmware(product)
                if versions.isEmpty { printLine("No firmware.") }
                for version in versions {
                    let number = version["version"]?.intValue ?? 0
                    let title = version["title"]?.stringValue ?? ""
                    let size = version["size"]?.intValue ?? 0
                    let current = version["current"] == .bool(true) ? "  (released: product default)" : ""
                    printLine("\(number)  \(title)  \(size) bytes\(current)")
                }
            }
        }
    }

    struct Release: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Release a version as the product default: its devices are updated to it."
        )

        @OptionGroup var client: ClientOptions
        @Argument(help: "The product (id or slug).") var product: String
        @Argument(help: "The version to release.") var version: Int

        func run() async throws {
            try await runReportingErrors {
                try await client.client().releaseProductFirmware(product, version: version)
                printLine("Released version \(version) as the default of \(product)")
            }
        }
    }
}
