import AerosolModels
import Foundation
import HummingbirdBcrypt
import NIOPosix
import SQLKit
import Synchronization

/// Accounts: creation with a bcrypt-hashed password, and credential checks.
public struct UserStore: Sendable {
    let database: Database
    /// The bcrypt cost factor (2^cost rounds); 10 by default.
    public let bcryptCost: UInt8

    /// A store on `database`.
    public init(database: Database, bcryptCost: UInt8 = 10) {
        self.database = database
        self.bcryptCost = bcryptCost
    }

    /// Creates an account. Throws `conflict` if the email is taken, `invalid` for a bad email
    /// or a password shorter than 8 characters.
    public func create(email rawEmail: String, password: String) async throws -> User {
        let email = rawEmail.trimmingCharacters(in: .whitespaces).lowercased()
        guard Self.isPlausibleEmail(email) else { throw StoreError.invalid("\(rawEmail) is not an email address") }
        let hash = try await hashPassword(password)
        let user = User(id: TokenHasher.generateID(), email: email, passwordHash: hash, createdAt: Date())
        do {
            try await database.write { sql in
                try await sql.raw(
                    """
                    INSERT INTO users (id, email, password_hash, created_at)
                    VALUES (\(bind: user.id), \(bind: user.email), \(bind: user.passwordHash), \(bind: Timestamp.milliseconds(user.createdAt)))
                    """
                ).run()
            }
        } catch  where Database.isUniqueViolation(error) {
            throw StoreError.conflict("an account with the email \(email) already exists")
        }
        return user
    }

    /// The bcrypt hash of a new password; throws `invalid` for one shorter than 8 characters or
    /// longer than bcrypt's 72 bytes.
    func hashPassword(_ password: String) async throws -> String {
        guard password.count >= 8 else { throw StoreError.invalid("the password must have at least 8 characters") }
        guard password.utf8.count <= 72 else {
            throw StoreError.invalid("the password must have at most 72 bytes (bcrypt ignores the rest)")
        }
        let cost = bcryptCost
        return try await NIOThreadPool.singleton.runIfActive { Bcrypt.hash(password, cost: cost) }
    }

    /// The user with these credentials, or `nil` when the email is unknown or the password wrong.
    public func authenticate(email: String, password: String) async throws -> User? {
        guard let user = try await find(email: email) else {
            // Spend the same time as a real check, so timing does not reveal which emails exist.
            let cost = bcryptCost
            _ = try await NIOThreadPool.singleton.runIfActive {
                Bcrypt.verify(password, hash: Self.dummyHash(cost: cost))
            }
            return nil
        }
        let ok = try await NIOThreadPool.singleton.runIfActive { Bcrypt.verify(password, hash: user.passwordHash) }
        return ok ? user : nil
    }

    /// The user with this email (case-insensitive), if any.
    public func find(email: String) async throws -> User? {
        let email = email.trimmingCharacters(in: .whitespaces).lowercased()
        return try await database.sql.raw("SELECT * FROM users WHERE email = \(bind: email)").first().map(Self.user)
    }

    /// The user with this id, if any.
    public func find(id: String) async throws -> User? {
        try await database.sql.raw("SELECT * FROM users WHERE id = \(bind: id)").first().map(Self.user)
    }

    static func user(_ row: any SQLRow) throws -> User {
        User(
            id: try row.decode(column: "id", as: String.self),
            email: try row.decode(column: "email", as: String.self),
            passwordHash: try row.decode(column: "password_hash", as: String.self),
            createdAt: Timestamp.date(milliseconds: try row.decode(column: "created_at", as: Int64.self))
        )
    }

    static func isPlausibleEmail(_ email: String) -> Bool {
        let parts = email.split(separator: "@", omittingEmptySubsequences: false)
        return parts.count == 2 && !parts[0].isEmpty && !parts[1].isEmpty && email.count <= 254
            && !email.contains(where: { $0.isWhitespace })
    }

    /// One bcrypt hash per cost, computed once, for constant-time failures on unknown emails.
    private static let dummyHashes = Mutex<[UInt8: String]>([:])

    private static func dummyHash(cost: UInt8) -> String {
        if let hash = dummyHashes.withLock({ $0[cost] }) { return hash }
        let hash = Bcrypt.hash("aerosol-dummy-password", cost: cost)
        dummyHashes.withLock { $0[cost] = hash }
        return hash
    }
}
