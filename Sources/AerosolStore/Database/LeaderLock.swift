import Logging
import NIOPosix
import PostgresNIO
import Synchronization

/// A PostgreSQL session advisory lock held on a connection of its own (outside the pool, so it
/// never goes back to the pool still holding the lock), for ``Database/lead(_:_:)``.
final class LeaderLock: Sendable {
    private let configuration: PostgresConnection.Configuration
    private let key: Int64
    private let logger: Logger
    private let connection = Mutex<PostgresConnection?>(nil)

    init(configuration: PostgresConnection.Configuration, key: Int64, logger: Logger) {
        self.configuration = configuration
        self.key = key
        self.logger = logger
    }

    /// Returns once the lock is held (trying every second); throws only when cancelled.
    func acquire() async throws {
        while true {
            try Task.checkCancellation()
            if (try? await take()) == true { return }
            try await Task.sleep(for: .seconds(1))
        }
    }

    /// Returns when the lock is lost to another node: checks the connection every 2 s and,
    /// when it failed, takes the lock again on a new one as soon as the database answers.
    func watch() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(2))
            guard let held = connection.withLock({ $0 }) else { return }
            do {
                try await answers(held)
                continue
            } catch {
                if Task.isCancelled { return }
                logger.warning(
                    "lost the connection that holds a lead; taking the lock again when the database answers",
                    metadata: ["db.lock": "\(key)", "error": "\(PostgresFailure(error))"]
                )
                try? await held.close()
            }
            while !Task.isCancelled {
                switch try? await take() {
                case true?: break
                case false?:
                    logger.error(
                        "another node took the lead while this one was cut off",
                        metadata: ["db.lock": "\(key)"]
                    )
                    return
                case nil:
                    try? await Task.sleep(for: .seconds(1))
                    continue
                }
                break
            }
        }
    }

    /// Throws unless `held` answers a query within 3 s. A connection whose server went away
    /// does not always fail its next query: it may wait for an answer that never comes, and
    /// not even cancellation ends that wait; so the query runs on its own and is abandoned (its
    /// connection closed) when it is late.
    private func answers(_ held: PostgresConnection) async throws {
        let logger = self.logger
        let answered = await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            let once = Once(continuation)
            Task {
                let ok = (try? await held.query("SELECT 1", logger: logger)) != nil
                once.resume(ok)
            }
            Task {
                try? await Task.sleep(for: .seconds(3))
                once.resume(false)
            }
        }
        if !answered { throw StoreError.unavailable("the connection that holds the lock does not answer") }
    }

    /// Unlocks (by closing the connection, which ends the session and its locks).
    func release() async {
        let held = connection.withLock { connection -> PostgresConnection? in
            defer { connection = nil }
            return connection
        }
        try? await held?.close()
    }

    /// One attempt on a new connection: `true` with the lock held, `false` when another session
    /// holds it; throws when the database cannot be reached.
    private func take() async throws -> Bool {
        let fresh = try await PostgresConnection.connect(
            on: MultiThreadedEventLoopGroup.singleton.any(),
            configuration: configuration,
            id: 0,
            logger: logger
        )
        do {
            let rows = try await fresh.query("SELECT pg_try_advisory_lock(\(key)) AS taken", logger: logger)
            var taken = false
            for try await row in rows { taken = try row.decode(Bool.self) }
            guard taken else {
                try? await fresh.close()
                return false
            }
            connection.withLock { $0 = fresh }
            return true
        } catch {
            try? await fresh.close()
            throw error
        }
    }
}

/// Resumes a continuation once, with the first answer.
private final class Once: Sendable {
    private let continuation: Mutex<CheckedContinuation<Bool, Never>?>

    init(_ continuation: CheckedContinuation<Bool, Never>) {
        self.continuation = Mutex(continuation)
    }

    func resume(_ value: Bool) {
        let waiting = continuation.withLock { continuation in
            defer { continuation = nil }
            return continuation
        }
        waiting?.resume(returning: value)
    }
}
