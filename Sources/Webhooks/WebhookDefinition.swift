import AerosolModels

/// A validated webhook definition with its templates compiled.
///
/// It holds no secret: the Basic-auth password and the signing secret travel beside it (see
/// ``WebhookDefinition/Secrets``) and are stored sealed.
public struct WebhookDefinition: Sendable {
    /// The request methods a webhook may use.
    public static let requestTypes = ["GET", "POST", "PUT", "DELETE", "PATCH"]

    /// The event-name prefix that triggers the webhook (case-sensitive, at least one character).
    public var event: String
    /// The URL template.
    public var url: WebhookTemplate
    /// `GET`, `POST` (default), `PUT`, `DELETE` or `PATCH`.
    public var requestType: String
    /// Sandbox webhooks only: the one device whose events trigger it.
    public var deviceID: String?
    /// The JSON body template (exclusive with `form` and `body`).
    public var json: JSONBodyTemplate?
    /// Form fields (exclusive with `json` and `body`); the query string for `GET`.
    public var form: [(String, WebhookTemplate)]?
    /// Query-string fields, for any method.
    public var query: [(String, WebhookTemplate)]?
    /// Extra request headers.
    public var headers: [(String, WebhookTemplate)]?
    /// The raw body template (exclusive with `json` and `form`); no automatic content type.
    public var body: WebhookTemplate?
    /// The HTTP Basic user name template of `auth` (its password is a secret).
    public var authUsername: WebhookTemplate?
    /// Rendered against the parsed JSON response to make the `hook-response` data.
    public var responseTemplate: WebhookTemplate?
    /// The name of response events (before `/<index>`); default `hook-response/{{PARTICLE_EVENT_NAME}}`.
    public var responseTopic: WebhookTemplate?
    /// The name of error events (before `/<index>`); default `hook-error/{{PARTICLE_EVENT_NAME}}`.
    public var errorResponseTopic: WebhookTemplate?
    /// Leave out the default fields (`event`, `data`, `published_at`, `coreid`…).
    public var noDefaults: Bool
    /// Verify the target's TLS certificate (default `true`).
    public var rejectUnauthorized: Bool
    /// A disabled webhook matches no event.
    public var disabled: Bool
    /// A display name.
    public var name: String?
    /// Calls per minute (0 = unlimited); `nil` uses the server's default.
    public var rateLimit: Int?
    /// Accepted for compatibility; responses are always sent in 512-byte parts.
    public var unchunked: Bool
    /// Accepted for compatibility; responses are always sent as text.
    public var dataURLResponseEvent: Bool

    /// The secrets of a create or replace request.
    public struct Secrets: Sendable, Equatable {
        /// What to do with a stored secret.
        public enum Change: Sendable, Equatable {
            /// Leave it as it is (the request did not mention it).
            case keep
            /// Set it to this.
            case set(String)
            /// Remove it (`null` or an empty string).
            case remove
        }

        /// The Basic-auth password template of `auth`, if `auth` was given with one.
        public var password: String?
        /// The signing secret.
        public var secret: Change
    }
}
