import AerosolClient
import AerosolModels
import ArgumentParser
import Foundation

/// `aerosol webhook create|list|delete|deliveries|test`.
struct WebhookCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "webhook",
        abstract: "Create, list, test and delete webhooks, and read their delivery logs.",
        subcommands: [Create.self, List.self, Delete.self, Deliveries.self, Test.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a webhook for events whose name starts with EVENT.",
            discussion: """
                Examples:
                  aerosol webhook create temp https://example.com/hook
                  aerosol webhook create temp https://example.com/hook \\
                      --secret "$SECRET" --rate-limit 60
                  aerosol webhook create temp https://example.com/hook --definition hook.json
                """
        )
        @OptionGroup var client: ClientOptions
        @Argument(help: "The event name prefix.") var event: String
        @Argument(help: "The target URL.") var url: String
        @Option(help: "GET, POST, PUT, DELETE or PATCH.") var requestType = "POST"
        @Option(help: "A signing secret (16 to 256 characters); requests then carry X-Aerosol-Signature.")
        var secret: String?
        @Option(help: "Calls per minute, 0 for unlimited. (default: the server's, 12)") var rateLimit: Int?
        @Option(help: "A JSON file with more fields (json, form, query, headers, auth, …); - for stdin.")
        var definition: String?
        @Option(help: "Create it in this product (id or slug).") var product: String?

        func run() async throws {
            try await runReportingErrors {
                var fields: [(String, JSONValue)] = []
                if let definition { fields = try Self.readDefinition(definition) }
                fields.removeAll { ["event", "url", "requestType", "secret", "rateLimit"].contains($0.0) }
                fields =
                    [("event", .string(event)), ("url", .string(url)), ("requestType", .string(requestType))] + fields
                if let secret { fields.append(("secret", .string(secret))) }
                if let rateLimit { fields.append(("rateLimit", .int(Int64(rateLimit)))) }
                let hook = try await client.client().createWebhook(fields, product: product)
                printLine("Created webhook \(hook.id): \(hook.event) -> \(hook.requestType) \(hook.url)")
            }
        }

        /// The members of the JSON object in `path` (`-`: standard input); a file that cannot be
        /// read, is not JSON (with where it goes wrong) or holds no object is named.
        static func readDefinition(_ path: String) throws -> [(String, JSONValue)] {
            let name = path == "-" ? "standard input" : path
            let data: Data
            if path == "-" {
                data = FileHandle.standardInput.readDataToEndOfFile()
            } else {
                var isDirectory: ObjCBool = false
                guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                    throw CLIError("--definition \(path): no such file")
                }
                guard !isDirectory.boolValue, let contents = FileManager.default.contents(atPath: path) else {
                    throw CLIError(
                        "--definition \(path): cannot be read (\(isDirectory.boolValue ? "a directory" : "no permission"))"
                    )
                }
                data = contents
            }
            let value: JSONValue
            do {
                value = try JSONValue.parse(Array(data))
            } catch {
                throw CLIError("--definition \(name) is not JSON: \(error)")
            }
            guard case .object(let members) = value else {
                throw CLIError("--definition \(name) holds JSON but not an object ({…})")
            }
            return members
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List webhooks.",
            discussion: "Example:\n  aerosol webhook list --product my-product"
        )
        @OptionGroup var client: ClientOptions
        @Option(help: "A product's webhooks (id or slug).") var product: String?

        func run() async throws {
            try await runReportingErrors {
                let hooks = try await client.client().listWebhooks(product: product)
                if hooks.isEmpty { printLine("No webhooks.") }
                for hook in hooks {
                    var line = "\(hook.id)  \(hook.event) -> \(hook.requestType) \(hook.url)"
                    if let state = hook.state { line += "  [\(state)\(hook.reason.map { ": \($0)" } ?? "")]" }
                    printLine(line)
                }
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete a webhook.",
            discussion: "Example:\n  aerosol webhook delete 5f2a…"
        )
        @OptionGroup var client: ClientOptions
        @Argument(help: "The webhook's id.") var id: String
        @Option(help: "The product it belongs to (id or slug).") var product: String?

        func run() async throws {
            try await runReportingErrors {
                try await client.client().deleteWebhook(id, product: product)
                printLine("Deleted webhook \(id)")
            }
        }
    }

    struct Deliveries: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a webhook's recent delivery attempts, newest first.",
            discussion: "Example:\n  aerosol webhook deliveries 5f2a… --limit 20"
        )
        @OptionGroup var client: ClientOptions
        @Argument(help: "The webhook's id.") var id: String
        @Option(help: "The product it belongs to (id or slug).") var product: String?
        @Option(help: "How many attempts to show.") var limit = 20

        func run() async throws {
            try await runReportingErrors {
                let attempts = try await client.client().webhookDeliveries(id, product: product, limit: limit)
                if attempts.isEmpty { printLine("No deliveries yet.") }
                for attempt in attempts {
                    var line = "\(attempt.time)  \(attempt.event) #\(attempt.attempt)  \(attempt.outcome)"
                    if let status = attempt.status { line += "  HTTP \(status)" }
                    if let duration = attempt.durationMilliseconds { line += "  \(duration) ms" }
                    if let error = attempt.error { line += "  \(error)" }
                    if let next = attempt.nextRetryAt { line += "  next try \(next)" }
                    printLine(line)
                }
            }
        }
    }

    struct Test: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send a test event to a webhook.",
            discussion: "Example:\n  aerosol webhook test 5f2a… --data hello"
        )
        @OptionGroup var client: ClientOptions
        @Argument(help: "The webhook's id.") var id: String
        @Option(help: "The test event's data. (default: test-event)") var data: String?
        @Option(help: "The product it belongs to (id or slug).") var product: String?

        func run() async throws {
            try await runReportingErrors {
                try await client.client().testWebhook(id, data: data, product: product)
                printLine("Test event queued for webhook \(id)")
            }
        }
    }
}
