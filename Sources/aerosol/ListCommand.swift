import AerosolClient
import AerosolModels
import ArgumentParser

/// `aerosol list`: the caller's devices.
struct ListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List your devices.",
        discussion: "Example:\n  aerosol list\n  aerosol list --json | jq '.[].id'"
    )

    @OptionGroup var client: ClientOptions
    @Flag(help: "Print the API's JSON instead of a table.") var json = false

    func run() async throws {
        try await runReportingErrors {
            let devices = try await client.client().listDevices()
            if json {
                printLine(JSONValue.array(devices.map(\.json)).serialized)
                return
            }
            if devices.isEmpty { printLine("No devices.") }
            for device in devices {
                let state = device.online ? "online" : "offline"
                printLine("\(device.name ?? "<no name>") [\(device.id)] (\(state))")
            }
        }
    }
}
