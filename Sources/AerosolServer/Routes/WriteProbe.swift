import AerosolStore
import Synchronization

/// Whether the database takes writes: takes and releases its write lock (`BEGIN IMMEDIATE`,
/// `COMMIT`), which fails on a read-only database and waits while another process holds the
/// lock.
///
/// A probe that does not finish within its timeout is reported as a failure but left running
/// (SQLite's busy wait cannot be interrupted), and later checks wait on that same probe rather
/// than start another: readiness probes arriving every second cannot pile up behind a held lock.
final class WriteProbe: Sendable {
    private let database: Database
    private let running = Mutex<Task<String?, Never>?>(nil)

    init(database: Database) {
        self.database = database
    }

    /// `nil` when a write lock was granted within `timeout`, else what went wrong.
    func check(timeout: Duration) async -> String? {
        let probe = running.withLock { running in
            if let running { return running }
            let database = self.database
            let task = Task<String?, Never> {
                do {
                    try await database.transaction { _ in }
                    return nil
                } catch {
                    return "the database does not take writes: \(Database.describe(error))"
                }
            }
            running = task
            return task
        }
        let outcome = await withCheckedContinuation { (continuation: CheckedContinuation<String?, Never>) in
            let answer = FirstAnswer(continuation)
            Task { answer.resume(returning: await probe.value) }
            Task {
                try? await Task.sleep(for: timeout)
                answer.resume(returning: "the database did not take a write within \(timeout.components.seconds) s")
            }
        }
        Task {
            // Done probes are forgotten, so that the next check probes afresh.
            _ = await probe.value
            running.withLock { if $0 == probe { $0 = nil } }
        }
        return outcome
    }
}
