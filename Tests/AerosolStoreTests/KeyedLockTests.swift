import AerosolStore
import AerosolTesting
import Foundation
import SQLKit
import Synchronization
import Testing

/// The locks that serialise the database writer and each device's status: FIFO, cancellable
/// while waiting, and bounded.
@Suite("KeyedLock and the single writer", .timeLimit(.minutes(1)))
struct KeyedLockTests {
    /// Resumes once the lock has `count` waiters for `key`.
    static func waitForWaiters(_ lock: KeyedLock<Int>, _ count: Int, key: Int = 0) async {
        while lock.waiting(for: key) < count { await Task.yield() }
    }

    /// A task that holds key 0 until `release` yields; returns once it holds it.
    static func hold(_ lock: KeyedLock<Int>, until release: AsyncStream<Void>) async -> Task<Void, any Error> {
        let (held, heldContinuation) = AsyncStream.makeStream(of: Void.self)
        let holder = Task {
            try await lock.withLock(0) {
                heldContinuation.yield()
                for await _ in release { break }
            }
        }
        for await _ in held { break }
        return holder
    }

    @Test func aTaskCancelledWhileWaitingLeavesTheQueueAtOnce() async throws {
        let lock = KeyedLock<Int>()
        let (release, releaseContinuation) = AsyncStream.makeStream(of: Void.self)
        let holder = await Self.hold(lock, until: release)
        let waiter = Task { try await lock.withLock(0) { "ran" } }
        await Self.waitForWaiters(lock, 1)
        waiter.cancel()
        let result = await waiter.result
        #expect(throws: CancellationError.self) { try result.get() }
        // It left at once: nobody waits, although the holder still holds the lock.
        #expect(lock.waiting(for: 0) == 0)
        releaseContinuation.yield()
        try await holder.value
        #expect(try await lock.withLock(0) { 42 } == 42)
    }

    final class Order: Sendable {
        let indices = Mutex<[Int]>([])
    }

    static func record(_ index: Int, in order: Order, holding lock: KeyedLock<Int>) async throws {
        try await lock.withLock(0) { order.indices.withLock { $0.append(index) } }
    }

    @Test func waitersRunInOrderAndABoundRefusesMore() async throws {
        let lock = KeyedLock<Int>(maxWaiters: 3)
        let order = Order()
        let (release, releaseContinuation) = AsyncStream.makeStream(of: Void.self)
        let holder = await Self.hold(lock, until: release)
        var waiters: [Task<Void, any Error>] = []
        for index in 0..<3 {
            waiters.append(Task { try await Self.record(index, in: order, holding: lock) })
            await Self.waitForWaiters(lock, index + 1)
        }
        await #expect(throws: KeyedLockError.self) { try await lock.withLock(0) {} }
        // Other keys do not wait.
        #expect(try await lock.withLock(1) { true })
        releaseContinuation.yield()
        try await holder.value
        for waiter in waiters { try await waiter.value }
        #expect(order.indices.withLock { $0 } == [0, 1, 2])
    }

    /// SQLite's single writer connection; PostgreSQL's pool closes such a connection instead.
    @Test(.enabled(if: TestDatabases.engine == .sqlite))
    func aWriterLeftInsideATransactionRecovers() async throws {
        let fixture = try await StoreFixture.make()
        defer { try? FileManager.default.removeItem(atPath: fixture.directory) }
        // What a failed ROLLBACK leaves behind: the writer connection inside a transaction.
        try await fixture.database.write { sql in try await sql.raw("BEGIN IMMEDIATE").run() }
        let value = try await fixture.database.transaction { sql in
            try await sql.raw("SELECT 7 AS seven").first()?.decode(column: "seven", as: Int.self)
        }
        #expect(value == 7)
        await fixture.database.close()
    }
}
