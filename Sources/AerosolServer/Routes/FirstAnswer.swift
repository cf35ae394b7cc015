import Synchronization

/// A continuation resumed by whichever of two tasks answers first; the other's answer is dropped.
final class FirstAnswer: Sendable {
    private let continuation: Mutex<CheckedContinuation<String?, Never>?>

    init(_ continuation: CheckedContinuation<String?, Never>) {
        self.continuation = Mutex(continuation)
    }

    func resume(returning value: String?) {
        continuation.withLock { $0.take() }?.resume(returning: value)
    }
}
