import AerosolModels
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// A client for the Aerosol (and any Particle-compatible) Cloud API.
///
/// Each call is an `async throws` method returning typed values; failures throw ``ClientError``
/// with the API's `error`, `error_description` and status. Event streams are an `AsyncSequence`
/// that reconnects by itself and resumes with `Last-Event-ID` (see ``events(_:prefix:options:)``).
///
/// ```swift
/// let client = AerosolClient(baseURL: "http://127.0.0.1:8080")
/// let token = try await client.login(username: "me@example.com", password: "…").accessToken
/// let authed = client.with(token: token)
/// try await authed.publish(name: "temperature", data: "21.5")
/// ```
public struct AerosolClient: Sendable {
    /// The API's base URL, without a trailing slash (`http://127.0.0.1:8080`).
    public let baseURL: String
    /// The access token sent as `Authorization: Bearer`, if any.
    public let token: String?
    /// The HTTP client used (``defaultHTTPClient`` unless one is given).
    public let httpClient: HTTPClient
    /// How long a request may take, start to end (default 30 s).
    public var requestTimeout: TimeAmount = .seconds(30)

    /// The HTTP client every `AerosolClient` uses unless given another: a refused connection
    /// fails the call at once (a server that is down is reported, not waited for; event streams
    /// retry by themselves with backoff), and a connection attempt gives up after 10 s. It lives
    /// as long as the process.
    public static let defaultHTTPClient: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.timeout.connect = .seconds(10)
        configuration.connectionPool.retryConnectionEstablishment = false
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }()

    /// A client for the API at `baseURL`.
    public init(baseURL: String, token: String? = nil, httpClient: HTTPClient = AerosolClient.defaultHTTPClient) {
        var base = baseURL
        while base.hasSuffix("/") { base.removeLast() }
        self.baseURL = base
        self.token = token
        self.httpClient = httpClient
    }

    /// The same client with another token.
    public func with(token: String?) -> AerosolClient {
        var copy = AerosolClient(baseURL: baseURL, token: token, httpClient: httpClient)
        copy.requestTimeout = requestTimeout
        return copy
    }

    /// A request body.
    enum Body {
        case none
        case form([(String, String)])
        case json(JSONValue)
        case bytes([UInt8], contentType: String)
    }

    /// Sends a request and returns the parsed JSON body of a 2xx answer (`{}` for 204); any other
    /// status throws the API's error.
    @discardableResult
    func send(
        _ method: HTTPMethod,
        _ path: String,
        query: [(String, String)] = [],
        body: Body = .none,
        headers: [(String, String)] = [],
        authenticated: Bool = true
    ) async throws -> JSONValue {
        var request = HTTPClientRequest(url: baseURL + path + Self.queryString(query))
        request.method = method
        if authenticated, let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        for (name, value) in headers { request.headers.replaceOrAdd(name: name, value: value) }
        switch body {
        case .none: break
        case .form(let fields):
            request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
            request.body = .bytes(ByteBuffer(string: Self.formEncode(fields)))
        case .json(let value):
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: value.serialized))
        case .bytes(let bytes, let contentType):
            request.headers.add(name: "Content-Type", value: contentType)
            request.body = .bytes(ByteBuffer(bytes: bytes))
        }
        let response: HTTPClientResponse
        let bytes: ByteBuffer
        do {
            response = try await httpClient.execute(request, timeout: requestTimeout)
            bytes = try await response.body.collect(upTo: 16 << 20)
        } catch {
            throw ClientError.transport(error, url: baseURL)
        }
        let status = Int(response.status.code)
        let json: JSONValue?
        if bytes.readableBytes == 0 {
            json = .object([])
        } else {
            json = try? JSONValue.parse(bytes.readableBytesView)
        }
        guard (200..<300).contains(status) else {
            throw Self.error(status: status, json: json, text: String(buffer: bytes))
        }
        guard let json else {
            throw ClientError.unexpected("the body is not JSON: \(String(buffer: bytes).prefix(200))", status: status)
        }
        return json
    }

    /// The error an API error body describes (either format).
    static func error(status: Int, json: JSONValue?, text: String) -> ClientError {
        let error: String
        switch json?["error"] {
        case .string(let value)?: error = value
        default: error = text.isEmpty ? "HTTP \(status)" : String(text.prefix(200))
        }
        var description: String?
        if case .string(let value)? = json?["error_description"] { description = value }
        if description == nil, case .string(let info)? = json?["info"] { description = "\(error): \(info)" }
        return ClientError(status: status, error: error, errorDescription: description)
    }

    static func formEncode(_ fields: [(String, String)]) -> String {
        fields.map { "\(percentEncode($0.0))=\(percentEncode($0.1))" }.joined(separator: "&")
    }

    static func queryString(_ query: [(String, String)]) -> String {
        query.isEmpty ? "" : "?" + formEncode(query)
    }

    static func percentEncode(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }

    /// A path segment, percent-encoded (a `/` in it becomes `%2F`, as particle-api-js sends it).
    static func segment(_ text: String) -> String {
        percentEncode(text)
    }
}
