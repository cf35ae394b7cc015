import AerosolClient
import ArgumentParser

/// `aerosol device add|claim|rename|remove`.
struct DeviceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "device",
        abstract: "Add devices to products, claim, rename and release devices; provision and simulate devices.",
        subcommands: [
            Add.self, Claim.self, Rename.self, Remove.self, DeviceProvisionCommand.self, DeviceSimulateCommand.self,
        ]
    )

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add devices to a product.",
            discussion: "Example:\n  aerosol device add my-product 0123456789abcdef01234567"
        )
        @OptionGroup var client: ClientOptions
        @Argument(help: "The product's id or slug.") var product: String
        @Argument(help: "Device ids (24 hex characters).") var ids: [String]

        func validate() throws {
            if ids.isEmpty { throw ValidationError("give at least one device id") }
        }

        func run() async throws {
            try await runReportingErrors {
                let result = try await client.client().addDevices(ids, toProduct: product)
                if !result.invalid.isEmpty {
                    throw CLIError("not device ids: \(result.invalid.joined(separator: ", "))")
                }
                printLine("Added \(result.added.count) device\(result.added.count == 1 ? "" : "s") to \(product)")
            }
        }
    }

    struct Claim: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Claim a device for your account.",
            discussion: "Example:\n  aerosol device claim 0123456789abcdef01234567"
        )
        @OptionGroup var client: ClientOptions
        @Argument(help: "The device id.") var id: String

        func run() async throws {
            try await runReportingErrors {
                let provisioned = try await client.client().claimDevice(id)
                printLine("Claimed \(id)")
                if !provisioned {
                    printError(
                        "aerosol: warning: the server has no public key for \(id), so it cannot connect; "
                            + "store its key with `aerosol device provision \(id) --key FILE`"
                    )
                }
            }
        }
    }

    struct Rename: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Rename a device.",
            discussion: "Example:\n  aerosol device rename 0123456789abcdef01234567 weatherman"
        )
        @OptionGroup var client: ClientOptions
        @Argument(help: "The device's id or current name.") var device: String
        @Argument(help: "The new name.") var name: String

        func run() async throws {
            try await runReportingErrors {
                try await client.client().renameDevice(device, to: name)
                printLine("Renamed \(device) to \(name)")
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Release your claim on a device.",
            discussion: "Example:\n  aerosol device remove weatherman"
        )
        @OptionGroup var client: ClientOptions
        @Argument(help: "The device's id or name.") var device: String

        func run() async throws {
            try await runReportingErrors {
                try await client.client().removeDevice(device)
                printLine("Removed \(device)")
            }
        }
    }
}
