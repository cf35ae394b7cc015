import PostgresNIO
import SQLiteNIO

/// What the stores need to know about the two drivers' errors, in one place.
extension Database {
    /// Whether `error` is a uniqueness violation (a taken email, slug, device name or key):
    /// SQLite's `UNIQUE constraint failed` / `PRIMARY KEY` constraint, PostgreSQL's SQLSTATE
    /// 23505.
    static func isUniqueViolation(_ error: any Error) -> Bool {
        if let error = error as? PostgresFailure { return error.sqlState == "23505" }
        if let error = error as? PSQLError { return error.serverInfo?[.sqlState] == "23505" }
        if let error = error as? SQLiteError {
            switch error.reason {
            case .constraintUniqueFailed, .constraintPrimaryKeyFailed: return true
            default: return false
            }
        }
        return false
    }

    /// One line for an error from either driver (PostgresNIO's errors hide the server's message
    /// from `description` in release builds).
    public static func describe(_ error: any Error) -> String {
        if error is PSQLError { return PostgresFailure(error).description }
        if let error = error as? StoreError { return error.message }
        return "\(error)"
    }
}
