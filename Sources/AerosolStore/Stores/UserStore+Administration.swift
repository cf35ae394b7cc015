import AerosolModels
import Foundation
import SQLKit

/// What `aerosol user list` and `aerosol user password` do on the data directory.
extension UserStore {
    /// Every account, oldest first.
    public func all() async throws -> [User] {
        try await database.sql.raw("SELECT * FROM users ORDER BY created_at, email").all().map(Self.user)
    }

    /// Sets the password of the account with `email` and returns the account; throws `notFound`
    /// for an unknown email and `invalid` for a password ``create(email:password:)`` refuses.
    /// The account's tokens stay valid.
    @discardableResult
    public func setPassword(email: String, password: String) async throws -> User {
        guard var user = try await find(email: email) else {
            throw StoreError.notFound("no account with the email \(email)")
        }
        user.passwordHash = try await hashPassword(password)
        let hash = user.passwordHash
        let id = user.id
        try await database.write { sql in
            try await sql.raw("UPDATE users SET password_hash = \(bind: hash) WHERE id = \(bind: id)").run()
        }
        return user
    }
}
