import Foundation

/// An account: the owner of devices, tokens and (as a member) products.
public struct User: Sendable, Hashable {
    /// 24 lower-case hex characters, like Particle's user ids.
    public var id: String
    /// The login name (an email address), stored lower-cased.
    public var email: String
    /// The bcrypt hash of the password.
    public var passwordHash: String
    /// When the account was created.
    public var createdAt: Date

    /// Creates a user value.
    public init(id: String, email: String, passwordHash: String, createdAt: Date) {
        self.id = id
        self.email = email
        self.passwordHash = passwordHash
        self.createdAt = createdAt
    }
}
