import AerosolClient
import ArgumentParser
import Foundation

/// `aerosol subscribe`: prints events as JSON lines; reconnects on its own.
struct SubscribeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "subscribe",
        abstract: "Print events as they arrive, one JSON object per line.",
        discussion: """
            Events go to stdout (pipe them into jq); connection notices go to stderr. The stream \
            reconnects by itself and, against Aerosol, resumes where it left off.

            Examples:
              aerosol subscribe temp
              aerosol subscribe --product my-product --device 0123456789abcdef01234567
              aerosol subscribe --max 10 | jq -r .data
            """
    )

    @OptionGroup var client: ClientOptions
    @Argument(help: "Only events whose name starts with this prefix.") var prefix: String?
    @Option(help: "Only this device's events (id or name).") var device: String?
    @Option(help: "Only this product's events (id or slug).") var product: String?
    @Option(help: "Exit after this many events.") var max: Int?
    @Option(help: "Exit after an event with this name.") var until: String?
    @Option(help: "Start after this event id (replays what came after it).") var lastEventID: String?

    func validate() throws {
        if let max, max < 1 { throw ValidationError("--max must be at least 1") }
    }

    func run() async throws {
        try await runReportingErrors {
            let scope: StreamScope
            switch (product, device) {
            case (let product?, let device?): scope = .productDevice(product: product, device: device)
            case (let product?, nil): scope = .product(product)
            case (nil, let device?): scope = .device(device)
            case (nil, nil): scope = .mine
            }
            var options = StreamOptions()
            options.lastEventID = lastEventID
            var count = 0
            for try await update in try client.client().events(scope, prefix: prefix, options: options) {
                switch update {
                case .connected(let after):
                    printError(after.map { "Connected; resuming after event \($0)" } ?? "Connected")
                case .reconnecting(let reason, let attempt, let delay):
                    printError("Connection lost (\(reason)); reconnecting in \(delay) (attempt \(attempt))")
                case .event(let event):
                    printLine(event.json.serialized)
                    count += 1
                    if let max, count >= max { return }
                    if let until, event.name == until { return }
                }
            }
        }
    }
}
