import AerosolClient
import ArgumentParser
import Foundation

/// `aerosol flash DEVICE FILE`: flashes a binary over the air and follows the update's
/// `spark/flash/status` events until it succeeds or fails.
struct FlashCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "flash",
        abstract: "Flash a compiled application binary to a connected device over the air.",
        discussion: """
            The binary is checked by the server before anything is sent (platform, CRC-32, \
            SHA-256, size). Progress goes to stderr; the exit status is 0 once the device has \
            restarted and runs the new firmware, 1 if the update failed or the wait ran out.

            Examples:
              aerosol flash my-device firmware.bin
              aerosol flash 0123456789abcdef01234567 firmware.bin --wait 0
            """
    )

    @OptionGroup var client: ClientOptions
    @Argument(help: "The device (id or name).") var device: String
    @Argument(help: "The compiled application binary (.bin).") var file: String
    @Option(help: "Seconds to wait for the outcome; 0 returns once the update has started.") var wait: Double = 300

    func validate() throws {
        if wait < 0 { throw ValidationError("--wait must be 0 or more") }
    }

    func run() async throws {
        try await runReportingErrors {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw CLIError("cannot read \(file)")
            }
            let api = try client.client()
            guard wait > 0 else {
                try await api.flash(device, binary: Array(data), fileName: (file as NSString).lastPathComponent)
                printError("Update started (\(data.count) bytes)")
                return
            }
            let stream = api.events(.device(device), prefix: "spark/flash/status")
            let (device, name, binary, wait) = (device, (file as NSString).lastPathComponent, Array(data), wait)
            let outcome = try await withThrowingTaskGroup(of: String?.self) { group in
                group.addTask {
                    // Listen first, so that no status event is missed.
                    var updates = stream.makeAsyncIterator()
                    while let update = try await updates.next() {
                        if case .connected = update { break }
                    }
                    try await api.flash(device, binary: binary, fileName: name)
                    printError("Update started: sending \(binary.count) bytes")
                    while let update = try await updates.next() {
                        guard case .event(let event) = update else { continue }
                        let status = (event.data ?? "").trimmingCharacters(in: .whitespaces)
                        printError("spark/flash/status: \(status)")
                        if status.hasPrefix("success") || status.hasPrefix("failed") { return status }
                    }
                    return nil
                }
                group.addTask {
                    try await Task.sleep(for: .milliseconds(Int64(wait * 1000)))
                    return nil
                }
                defer { group.cancelAll() }
                return try await group.next() ?? nil
            }
            guard let outcome else { throw CLIError("no outcome within \(wait) s; the update may still run") }
            guard outcome.hasPrefix("success") else { throw CLIError("update \(outcome)") }
            printLine("Update succeeded: \(device) runs the new firmware")
        }
    }
}
