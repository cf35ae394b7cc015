import Logging

/// A failure that repeats, logged when it starts and when it ends, not at every try: the loops
/// that retry every second while the database is away (reading other nodes' events, listening
/// for their requests, renewing a lease, sharing counts) would otherwise write a line a second
/// for as long as it lasts.
public struct RepeatedFailure: Sendable {
    private var failing = false

    public init() {}

    /// Logs `message` as a warning with the error, unless this failure was logged already.
    public mutating func failed(
        _ error: any Error,
        _ message: @autoclosure () -> Logger.Message,
        logger: Logger,
        metadata: Logger.Metadata = [:]
    ) {
        defer { failing = true }
        guard !failing else { return }
        logger.warning(message(), metadata: metadata.merging(["error": "\(Database.describe(error))"]) { $1 })
    }

    /// Logs `message` as a notice when a failure was logged before (`nil`: nothing to say).
    public mutating func succeeded(
        _ message: @autoclosure () -> Logger.Message?,
        logger: Logger,
        metadata: Logger.Metadata = [:]
    ) {
        defer { failing = false }
        guard failing, let message = message() else { return }
        logger.notice(message, metadata: metadata)
    }
}
