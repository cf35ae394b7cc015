import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// Makes webhook requests: checks the target address, signs, sends with a deadline, and reads
/// at most ``ResponseEvents/maxResponseBytes`` of the response.
///
/// Every request goes to the very address the ``TargetResolver`` checked: plain `http` by
/// putting that address in the URL (with the original `host` header), `https` through a
/// client pinned to it (``PinnedClients``: TLS still sends the host name as SNI and verifies
/// the certificate against it). Nothing resolves the name a second time.
///
/// One HTTP client verifies TLS certificates; a second one, used only by webhooks with
/// `rejectUnauthorized: false`, does not. Redirects are not followed (a redirect could lead
/// to a private address); a 3xx is an answer like any other.
final class DeliverySender: Sendable {
    /// What a send gave.
    struct Outcome: Sendable {
        /// The result, for the retry decision.
        var result: AttemptResult
        /// The response body, capped.
        var body: [UInt8] = []
        /// Whether a request went out (so `hook-sent` is due).
        var sent: Bool
    }

    /// The header carrying the triggering event's log id, to recognise a delivery made twice.
    static let eventIDHeader = "X-Aerosol-Event-ID"

    private let verifying: HTTPClient
    private let lenient: HTTPClient
    private let pinned: PinnedClients
    let resolver: TargetResolver
    let timeout: Duration
    let maxResponseBytes = ResponseEvents.maxResponseBytes

    /// A sender; `configure` adjusts every HTTP client's configuration (tests add trust roots).
    init(
        resolver: TargetResolver,
        timeout: Duration,
        connectionsPerHost: Int,
        configure: @escaping @Sendable (inout HTTPClient.Configuration) -> Void = { _ in }
    ) {
        self.resolver = resolver
        self.timeout = timeout
        let makeConfiguration: @Sendable (Bool) -> HTTPClient.Configuration = { verifyTLS in
            var configuration = Self.configuration(
                verifyTLS: verifyTLS,
                timeout: timeout,
                connectionsPerHost: connectionsPerHost
            )
            configure(&configuration)
            return configuration
        }
        verifying = HTTPClient(eventLoopGroupProvider: .singleton, configuration: makeConfiguration(true))
        lenient = HTTPClient(eventLoopGroupProvider: .singleton, configuration: makeConfiguration(false))
        pinned = PinnedClients(makeConfiguration: makeConfiguration)
    }

    private static func configuration(verifyTLS: Bool, timeout: Duration, connectionsPerHost: Int)
        -> HTTPClient.Configuration
    {
        let amount = TimeAmount.nanoseconds(
            timeout.components.seconds * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000
        )
        var configuration = HTTPClient.Configuration(
            certificateVerification: verifyTLS ? .fullVerification : .none,
            redirectConfiguration: .disallow,
            timeout: .init(connect: amount, read: amount),
            decompression: .disabled
        )
        configuration.connectionPool = .init(
            idleTimeout: .seconds(60),
            concurrentHTTP1ConnectionsPerHostSoftLimit: max(8, connectionsPerHost)
        )
        // A refused connection is an attempt that failed, retried by the webhook's own policy.
        configuration.connectionPool.retryConnectionEstablishment = false
        return configuration
    }

    /// Sends `request`; never throws: every failure is an ``AttemptResult``.
    func send(_ request: RenderedRequest, secret: String?, eventID: Int64, verifyTLS: Bool) async -> Outcome {
        let addresses: [TargetResolver.Address]
        do {
            addresses = try await resolver.resolve(request.url.host)
        } catch let error as WebhookError {
            return Outcome(result: .failure(reason: error.message, retryable: !error.isRefused), sent: false)
        } catch {
            return Outcome(result: .failure(reason: "\(error)", retryable: true), sent: false)
        }
        let target = request.url
        let checked = addresses[0]
        // Plain HTTP goes to the address just checked; HTTPS to the same address through a
        // pinned client, unless the URL names an address already (nothing to resolve then).
        let url = target.isSecure ? target.text : "http://\(checked.urlHost):\(target.port)\(target.pathAndQuery)"
        var http = HTTPClientRequest(url: url)
        http.method = HTTPMethod(rawValue: request.method)
        for header in request.headers { http.headers.add(name: header.name, value: header.value) }
        http.headers.add(name: Self.eventIDHeader, value: String(eventID))
        let body = Array((request.body ?? "").utf8)
        if let secret {
            let timestamp = Int64(Date().timeIntervalSince1970)
            http.headers.add(
                name: WebhookSignature.header,
                value: WebhookSignature.value(secret: secret, timestamp: timestamp, body: body)
            )
        }
        if request.body != nil { http.body = .bytes(ByteBuffer(bytes: body)) }
        let prepared = http
        do {
            guard target.isSecure, TargetResolver.literal(target.host) == nil else {
                return try await exchange(prepared, on: verifyTLS ? verifying : lenient)
            }
            let key = PinnedClients.Key(host: target.host, address: checked.text, verifyTLS: verifyTLS)
            return try await pinned.withClient(key) { client in
                try await exchange(prepared, on: client)
            }
        } catch {
            return Outcome(result: .failure(reason: describe(error), retryable: true), sent: true)
        }
    }

    /// Sends `request` on `client` with the deadline and reads the capped response.
    private func exchange(_ request: HTTPClientRequest, on client: HTTPClient) async throws -> Outcome {
        try await withDeadline {
            let response = try await client.execute(
                request,
                deadline: .now() + .seconds(Int64(seconds(self.timeout) + 1))
            )
            var collected: [UInt8] = []
            for try await chunk in response.body {
                let room = self.maxResponseBytes - collected.count
                guard room > 0 else { break }
                collected.append(contentsOf: chunk.readableBytesView.prefix(room))
            }
            let retryAfter = response.headers.first(name: "retry-after").flatMap { Int64($0) }.map {
                Duration.seconds(max(0, $0))
            }
            return Outcome(
                result: .response(status: Int(response.status.code), retryAfter: retryAfter),
                body: collected,
                sent: true
            )
        }
    }

    /// Closes every client.
    func shutdown() async {
        try? await verifying.shutdown()
        try? await lenient.shutdown()
        await pinned.shutdown()
    }

    private struct TimedOut: Error {}

    /// Runs `body` with the request deadline, response body included.
    private func withDeadline(_ body: @escaping @Sendable () async throws -> Outcome) async throws -> Outcome {
        try await withThrowingTaskGroup(of: Outcome.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await Task.sleep(for: self.timeout)
                throw TimedOut()
            }
            defer { group.cancelAll() }
            guard let first = try await group.next() else { throw TimedOut() }
            return first
        }
    }

    private func describe(_ error: any Error) -> String {
        let text = String(describing: error)
        if error is TimedOut || text.contains("deadlineExceeded") || text.contains("Timeout")
            || text.contains("timeout")
        {
            return "timed out after \(Self.format(timeout))"
        }
        if text.contains("refused") || text.contains("ECONNREFUSED") { return "connection refused" }
        if text.contains("reset") { return "connection reset" }
        if text.contains("remoteConnectionClosed") { return "connection closed before a response" }
        return "request failed (\(text.prefix(160)))"
    }

    private static func format(_ duration: Duration) -> String {
        let value = seconds(duration)
        return value == value.rounded() ? "\(Int(value)) s" : "\(value) s"
    }
}
