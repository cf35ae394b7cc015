import Foundation
import Synchronization

/// A clock that moves only when told (``advance(by:)``), for tests: a session that expires in
/// twelve hours, a lockout of thirty minutes or a keepalive after eight seconds of silence is
/// tested without waiting for any of it, and without a test depending on how busy the machine
/// is.
public final class ManualClock: CloudClock {
    private struct Sleeper {
        let id: UInt64
        let deadline: UInt64
        let continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var now: Date
        var uptime: UInt64 = 1_000_000_000
        var sleepers: [Sleeper] = []
        var nextID: UInt64 = 0
    }

    private let state: Mutex<State>

    /// A clock showing `start` (default: the real time now).
    public init(start: Date = Date()) {
        self.state = Mutex(State(now: start))
    }

    public var now: Date { state.withLock { $0.now } }

    public var uptimeNanoseconds: UInt64 { state.withLock { $0.uptime } }

    /// How many tasks are sleeping on this clock (a test may wait for a loop to go to sleep
    /// before it advances the time).
    public var sleeperCount: Int { state.withLock { $0.sleepers.count } }

    /// Moves the time forward by `duration`, waking every sleeper whose time has come.
    public func advance(by duration: Duration) {
        let due = state.withLock { state -> [Sleeper] in
            state.now = state.now.addingTimeInterval(duration.timeInterval)
            state.uptime &+= duration.nanoseconds
            let uptime = state.uptime
            let due = state.sleepers.filter { $0.deadline <= uptime }
            state.sleepers.removeAll { $0.deadline <= uptime }
            return due
        }
        for sleeper in due { sleeper.continuation.resume() }
    }

    public func sleep(for duration: Duration) async throws {
        let id = state.withLock { state -> UInt64 in
            state.nextID += 1
            return state.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let resumeNow = state.withLock { state -> Bool in
                    if Task.isCancelled { return true }
                    let deadline = state.uptime &+ duration.nanoseconds
                    if deadline <= state.uptime { return true }
                    state.sleepers.append(Sleeper(id: id, deadline: deadline, continuation: continuation))
                    return false
                }
                if resumeNow {
                    if Task.isCancelled {
                        continuation.resume(throwing: CancellationError())
                    } else {
                        continuation.resume()
                    }
                }
            }
        } onCancel: {
            let cancelled = state.withLock { state -> Sleeper? in
                guard let index = state.sleepers.firstIndex(where: { $0.id == id }) else { return nil }
                return state.sleepers.remove(at: index)
            }
            cancelled?.continuation.resume(throwing: CancellationError())
        }
    }
}
