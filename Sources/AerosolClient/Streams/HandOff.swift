import Synchronization

/// A buffer of size zero between a stream's connection task and its consumer: ``send(_:)``
/// returns only once the consumer's ``receive()`` has the element.
///
/// This is what makes the stream lossless under a slow consumer. The connection task reads
/// the next bytes only after its last event was taken, so a consumer that falls behind stops
/// the reading (and, through TCP, the server) instead of filling a buffer that must drop
/// something; and the producer knows exactly which event the consumer got last, which is
/// where a reconnect resumes. One producer and one consumer.
final class HandOff<Element: Sendable>: Sendable {
    private typealias Machine = HandOffMachine<
        Element, CheckedContinuation<Element?, any Error>, CheckedContinuation<Bool, Never>
    >

    private let machine = Mutex(Machine())

    /// What a send found under the lock, to act on outside it.
    private enum SendOutcome {
        case suspended
        case delivered(CheckedContinuation<Element?, any Error>)
        case refused
    }

    /// What a receive found under the lock, to act on outside it.
    private enum ReceiveOutcome {
        case suspended
        case took(Element, CheckedContinuation<Bool, Never>)
        case ended((any Error)?)
        case cancelled(Machine.Waiter?)
    }

    /// Hands `element` to the consumer, waiting until it takes it. Returns `false`, without
    /// delivering, if the consumer is gone, the hand-off is finished, or the producer's task
    /// is cancelled.
    func send(_ element: Element) async -> Bool {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (sender: CheckedContinuation<Bool, Never>) in
                let outcome: SendOutcome = machine.withLock { machine in
                    // Checked under the lock: a cancellation handler that ran before this
                    // point found nothing to withdraw.
                    if Task.isCancelled { return .refused }
                    switch machine.send(element, sender) {
                    case .suspend: return .suspended
                    case .deliver(let receiver): return .delivered(receiver)
                    case .refuse: return .refused
                    }
                }
                switch outcome {
                case .suspended:
                    break
                case .delivered(let receiver):
                    receiver.resume(returning: element)
                    sender.resume(returning: true)
                case .refused:
                    sender.resume(returning: false)
                }
            }
        } onCancel: {
            machine.withLock { $0.withdraw() }?.resume(returning: false)
        }
    }

    /// The next element, waiting for the producer; `nil` once the producer finished or the
    /// consumer's task is cancelled (which ends the hand-off for good); throws what the
    /// producer finished with.
    func receive() async throws -> Element? {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (receiver: CheckedContinuation<Element?, any Error>) in
                let outcome: ReceiveOutcome = machine.withLock { machine in
                    if Task.isCancelled { return .cancelled(machine.cancel()) }
                    switch machine.receive(receiver) {
                    case .suspend: return .suspended
                    case .take(let element, let sender): return .took(element, sender)
                    case .end(let failure): return .ended(failure)
                    }
                }
                switch outcome {
                case .suspended:
                    break
                case .took(let element, let sender):
                    receiver.resume(returning: element)
                    sender.resume(returning: true)
                case .ended(let failure?):
                    receiver.resume(throwing: failure)
                case .ended(nil):
                    receiver.resume(returning: nil)
                case .cancelled(let waiter):
                    Self.release(waiter, failure: nil)
                    receiver.resume(returning: nil)
                }
            }
        } onCancel: {
            Self.release(machine.withLock { $0.cancel() }, failure: nil)
        }
    }

    /// Ends the sequence: the consumer gets `failure` (or the normal end) once it has taken
    /// what was handed over before; a waiting sender is refused.
    func finish(throwing failure: (any Error)? = nil) {
        Self.release(machine.withLock { $0.finish(failure: failure) }, failure: failure)
    }

    private static func release(_ waiter: Machine.Waiter?, failure: (any Error)?) {
        switch waiter {
        case .receiver(let receiver)?:
            if let failure {
                receiver.resume(throwing: failure)
            } else {
                receiver.resume(returning: nil)
            }
        case .sender(let sender)?:
            sender.resume(returning: false)
        case nil:
            break
        }
    }
}
