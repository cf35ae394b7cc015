import AerosolClient
import AerosolModels
import ArgumentParser

/// `aerosol get DEVICE VARIABLE`.
struct GetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "get",
        abstract: "Read a variable of a connected device.",
        discussion: "Prints the value as the device reports it.\n\nExample:\n  aerosol get weatherman temp"
    )

    @OptionGroup var client: ClientOptions
    @Argument(help: "The device id or name.") var device: String
    @Argument(help: "The variable name.") var variable: String

    func run() async throws {
        try await runReportingErrors {
            let value = try await client.client().variable(variable, of: device)
            printLine(value.stringValue ?? value.serialized)
        }
    }
}
