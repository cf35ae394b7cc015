import AerosolModels
import AerosolStore
import Foundation
import Logging

extension Cloud {
    /// Checks a user's password for a sign-in (`POST /oauth/token`, Basic auth, the console),
    /// with the lockout of ``LoginGuard``: the user, or `nil` for wrong credentials; throws the
    /// `429` of a locked account without checking the password. Every failure is logged (with
    /// the account and the client's address, never the password).
    func signIn(email: String, password: String, context: CloudRequestContext) async throws -> User? {
        let address = context.clientAddress ?? "unknown"
        if let until = logins.lockedUntil(account: email, address: address) {
            context.logger.notice(
                "sign-in refused: locked after repeated failures",
                metadata: ["user.email": "\(email)", "client.address": "\(address)"]
            )
            throw APIError.lockedOut(until: until, now: configuration.clock.now)
        }
        if let user = try await users.authenticate(email: email, password: password) {
            logins.succeeded(account: email, address: address)
            return user
        }
        let locked = logins.failed(account: email, address: address)
        context.logger.notice(
            "sign-in failed: wrong e-mail or password",
            metadata: ["user.email": "\(email)", "client.address": "\(address)"]
        )
        if let locked {
            context.logger.warning(
                "sign-ins locked after repeated failures",
                metadata: [
                    "user.email": "\(email)", "client.address": "\(address)",
                    "lock.until": "\(Timestamp.format(locked))",
                ]
            )
        }
        return nil
    }
}
