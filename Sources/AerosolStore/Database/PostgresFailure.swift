import PostgresNIO

/// A statement that PostgreSQL (or the connection to it) failed, with what the server said.
/// Never holds the statement's values: they may be sealed secrets or token hashes.
struct PostgresFailure: Error, CustomStringConvertible {
    /// The SQLSTATE code (`23505` for a uniqueness violation), when the server sent one.
    let sqlState: String?
    /// The server's message, or the driver's error code when the server said nothing (a
    /// connection that failed).
    let message: String

    init(_ error: any Error) {
        if let failure = error as? PostgresFailure {
            self = failure
        } else if let error = error as? PSQLError {
            sqlState = error.serverInfo?[.sqlState]
            message = error.serverInfo?[.message] ?? "\(error.code)"
        } else {
            sqlState = nil
            message = "\(error)"
        }
    }

    var description: String {
        "PostgreSQL: \(message)" + (sqlState.map { " (SQLSTATE \($0))" } ?? "")
    }
}
