/// The one error type of the client: what the API answered (status, `error`,
/// `error_description`), or what went wrong before it could answer.
public struct ClientError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The HTTP status, when the server answered.
    public let status: Int?
    /// The API's `error` (for example `invalid_token`, `Permission Denied`), or a short reason.
    public let error: String
    /// The API's `error_description`, when it sent one.
    public let errorDescription: String?

    /// Creates an error.
    public init(status: Int?, error: String, errorDescription: String? = nil) {
        self.status = status
        self.error = error
        self.errorDescription = errorDescription
    }

    /// A one-line message for people: the description if there is one, else the error.
    public var description: String {
        var text = errorDescription ?? error
        if let status { text = "HTTP \(status): " + text }
        return text
    }

    /// Whether the server refused the credentials (401) or the access (403): retrying the same
    /// request cannot succeed.
    public var isAuthorizationFailure: Bool { status == 401 || status == 403 }

    /// The server at `url` could not be reached or the exchange broke off.
    static func transport(_ error: any Error, url: String) -> ClientError {
        let detail = "\(error)"
        let reason: String
        if detail.contains("Connection refused") {
            reason = "connection refused (is the server running there?)"
        } else if detail.lowercased().contains("connecttimeout") || detail.lowercased().contains("timed out") {
            reason = "no answer in time (\(detail))"
        } else {
            reason = detail
        }
        return ClientError(status: nil, error: "connection failed", errorDescription: "cannot reach \(url): \(reason)")
    }

    static func unexpected(_ message: String, status: Int?) -> ClientError {
        ClientError(status: status, error: "unexpected response", errorDescription: message)
    }
}
