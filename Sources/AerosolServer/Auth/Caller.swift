import Foundation

/// Who is asking: the user behind a valid access token.
struct Caller: Sendable, Hashable {
    /// The user's id.
    var userID: String
    /// SHA-256 of the token used (never the token).
    var tokenHash: String
    /// The OAuth client the token was issued to.
    var client: String
    /// When the token expires; `nil` for never.
    var expiresAt: Date?
}
