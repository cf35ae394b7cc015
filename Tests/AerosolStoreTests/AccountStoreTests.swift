import AerosolModels
import AerosolStore
import Crypto
import Foundation
import SQLKit
import Testing

@Suite("Accounts, tokens and the server secret", .timeLimit(.minutes(1)))
struct AccountStoreTests {
    @Test func usersAreCreatedOnceAndCheckedWithBcrypt() async throws {
        let fixture = try await StoreFixture.make()
        let users = UserStore(database: fixture.database, bcryptCost: 4)
        let user = try await users.create(email: " Ada@Example.com ", password: "correct-horse")
        #expect(user.email == "ada@example.com")
        #expect(user.passwordHash.hasPrefix("$2"))
        #expect(!user.passwordHash.contains("correct-horse"))
        await #expect(throws: StoreError.self) {
            try await users.create(email: "ada@example.com", password: "another-pw")
        }
        await #expect(throws: StoreError.self) {
            try await users.create(email: "not-an-email", password: "long-enough")
        }
        await #expect(throws: StoreError.self) { try await users.create(email: "b@example.com", password: "short") }
        #expect(try await users.authenticate(email: "ADA@example.com", password: "correct-horse")?.id == user.id)
        #expect(try await users.authenticate(email: "ada@example.com", password: "wrong-horse") == nil)
        #expect(try await users.authenticate(email: "nobody@example.com", password: "correct-horse") == nil)
        await fixture.database.close()
    }

    @Test func tokensAreStoredHashedAndSealed() async throws {
        let fixture = try await StoreFixture.make()
        let user = try await UserStore(database: fixture.database, bcryptCost: 4)
            .create(email: "ada@example.com", password: "correct-horse")
        let secret = try ServerSecret.loadOrCreate(at: fixture.directory + "/secret")
        let tokens = TokenStore(database: fixture.database, secret: secret)
        let issued = try await tokens.issue(userID: user.id, client: "particle", expiresIn: 3600)
        let rows = try await fixture.database.sql.raw("SELECT * FROM access_tokens").all()
        #expect(rows.count == 1)
        let hash = try rows[0].decode(column: "token_hash", as: String.self)
        let sealed = try rows[0].decode(column: "sealed", as: String.self)
        #expect(hash == TokenHasher.hash(issued.accessToken))
        #expect(!sealed.contains(issued.accessToken))
        #expect(try await tokens.lookup(issued.accessToken)?.userID == user.id)
        #expect(try await tokens.list(userID: user.id).map(\.token) == [issued.accessToken])

        // Another secret cannot unseal the copies.
        let stranger = TokenStore(database: fixture.database, secret: ServerSecret(key: SymmetricKey(size: .bits256)))
        await #expect(throws: (any Error).self) { try await stranger.list(userID: user.id) }

        guard case .valid = try await tokens.redeem(refreshToken: issued.refreshToken, client: "particle") else {
            Issue.record("refresh token should be valid once")
            return
        }
        guard case .unknown = try await tokens.redeem(refreshToken: issued.refreshToken, client: "particle") else {
            Issue.record("a used refresh token must not work again")
            return
        }
        #expect(try await tokens.revoke(tokenHash: hash))
        #expect(try await tokens.lookup(issued.accessToken) == nil)
        await fixture.database.close()
    }

    @Test func theServerSecretIsPrivateAndStable() throws {
        let path = NSTemporaryDirectory() + "aerosol-secret-" + UUID().uuidString
        let first = try ServerSecret.loadOrCreate(at: path)
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        let sealed = try first.seal("254406f79c1999af65a7df4388971354f85cfee9")
        let again = try ServerSecret.loadOrCreate(at: path)
        #expect(try again.open(sealed) == "254406f79c1999af65a7df4388971354f85cfee9")
        try Data("short".utf8).write(to: URL(fileURLWithPath: path))
        #expect(throws: StoreError.self) { try ServerSecret.loadOrCreate(at: path) }
    }
}
