import AerosolModels
import AerosolStore
import DeviceGateway
import Hummingbird
import Logging
import Synchronization
import Webhooks

/// What every route needs: the configuration, the stores, the event log and bus, and the
/// authenticator. Built once by ``buildApplication(configuration:logger:)``.
struct Cloud: Sendable {
    let configuration: Configuration
    let database: Database
    let users: UserStore
    let tokens: TokenStore
    let products: ProductStore
    /// Product firmware versions (metadata; binaries in ``firmwareFiles``).
    let productFirmware: ProductFirmwareStore
    /// Firmware binaries: the data directory's `firmware/`, and the database for other nodes.
    let firmwareFiles: FirmwareFileStore
    let devices: DeviceStore
    let log: EventLog
    let bus: EventBus
    /// Every event stream, by event loop.
    let streams: StreamHub
    let auth: Authenticator
    /// Failed sign-ins and the lockouts they lead to.
    let logins: LoginGuard
    /// Webhook definitions and their delivery.
    let webhooks: WebhookEngine
    /// The device gateway: connected devices' variables, functions and signal.
    let gateway: DeviceGateway
    /// The port the server is bound to (known once it listens; port 0 picks one).
    let boundPort = BoundPort()

    /// The base URL that error hints point at.
    var baseURL: String {
        let port = boundPort.value
        return configuration.publicURL ?? "http://\(configuration.host):\(port == 0 ? configuration.port : port)"
    }

    /// Reads the request's body fields (with the configured size limit).
    func fields(_ request: inout Request) async throws -> RequestFields {
        // A multipart body is a firmware upload: its route streams it (with its own limit).
        if FirmwareUpload.isMultipart(request) { return .empty }
        return try await RequestFields.read(from: &request, limit: configuration.maxRequestBodyBytes)
    }

    /// After a revocation: evicts the tokens from the cache and closes the streams they opened.
    func forget(tokenHashes hashes: [String]) {
        auth.evict(tokenHashes: hashes)
        for hash in hashes { streams.end(tokenHash: hash, reason: .revoked) }
    }

}

/// The port the server listens on, set once it is bound.
final class BoundPort: Sendable {
    private let port = Atomic<Int>(0)

    var value: Int {
        get { port.load(ordering: .relaxed) }
        set { port.store(newValue, ordering: .relaxed) }
    }
}

extension Response {
    /// A JSON response.
    static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status,
            headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(string: value.serialized))
        )
    }

    /// An HTML page.
    static func html(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status,
            headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(string: text))
        )
    }

    /// A `text/plain` response (`format=raw`).
    static func text(_ text: String) -> Response {
        Response(
            status: .ok,
            headers: [.contentType: "text/plain; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: text))
        )
    }

    /// `{"ok":true}`.
    static var ok: Response { .json(.object([("ok", .bool(true))])) }
}
