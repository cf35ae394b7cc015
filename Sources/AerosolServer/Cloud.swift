import AerosolModels
import AerosolStore
import Hummingbird
import Logging

/// What every route needs: the configuration, the stores, the event log and bus, and the
/// authenticator. Built once by ``buildApplication(configuration:logger:)``.
struct Cloud: Sendable {
    let configuration: Configuration
    let database: Database
    let users: UserStore
    let tokens: TokenStore
    let products: ProductStore
    let devices: DeviceStore
    let log: EventLog
    let bus: EventBus
    let auth: Authenticator

    /// The base URL that error hints point at.
    var baseURL: String {
        configuration.publicURL ?? "http://\(configuration.host):\(configuration.port)"
    }

    /// Reads the request's body fields (with the configured size limit).
    func fields(_ request: inout Request) async throws -> RequestFields {
        try await RequestFields.read(from: &request, limit: configuration.maxRequestBodyBytes)
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

    /// `{"ok":true}`.
    static var ok: Response { .json(.object([("ok", .bool(true))])) }
}
