/// Who may call a route, as the route table records it.
public enum RouteAccess: String, Sendable, Hashable {
    /// Anyone: no credentials (`/healthz`, `POST /oauth/token`, `DELETE /v1/access_tokens/:token`
    /// where holding the token is the right to revoke it, the console's sign-in page).
    case anyone
    /// A caller with an access token (or the console's session cookie), settled by
    /// ``AuthenticationMiddleware`` before the route runs.
    case caller
    /// A user's password, by HTTP Basic (`GET /v1/access_tokens`).
    case password
    /// The console's pages: a session cookie, or a redirect to the sign-in page.
    case session
}
