import AerosolClient
import ArgumentParser

/// `aerosol call DEVICE FUNCTION [ARGUMENT]`.
struct CallCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "call",
        abstract: "Call a function of a connected device.",
        discussion: "Prints the function's return value.\n\nExample:\n  aerosol call weatherman led on"
    )

    @OptionGroup var client: ClientOptions
    @Argument(help: "The device id or name.") var device: String
    @Argument(help: "The function name.") var function: String
    @Argument(help: "The argument (at most 1024 bytes; older firmware takes less).") var argument = ""

    func run() async throws {
        try await runReportingErrors {
            printLine(String(try await client.client().callFunction(function, on: device, argument: argument)))
        }
    }
}
