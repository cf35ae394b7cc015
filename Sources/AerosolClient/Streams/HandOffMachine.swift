/// The state of a rendezvous between one producer and one consumer: an element changes hands
/// only when both are there, so nothing is ever buffered and the producer knows, when its send
/// returns, that the consumer has the element.
///
/// A value type with no concurrency of its own: ``HandOff`` drives it under a lock and performs
/// the actions it returns (resuming the waiter it names). `Receiver` and `Sender` are whatever
/// stands for a suspended party — continuations there, plain values in the tests.
struct HandOffMachine<Element, Receiver, Sender> {
    enum State {
        /// Nobody waits.
        case idle
        /// The consumer waits for an element.
        case receiving(Receiver)
        /// The producer waits with an element for the consumer.
        case sending(Element, Sender)
        /// Ended; `failure` is still to be thrown to the consumer (once) if set.
        case finished(failure: (any Error)?)
    }

    private(set) var state: State = .idle

    /// What the consumer asking for the next element must do.
    enum ReceiveAction {
        /// Wait: the machine keeps the receiver until an element or the end comes.
        case suspend
        /// Take `element` now and resume `sender`, which has handed it over.
        case take(Element, resume: Sender)
        /// The sequence is over: throw `failure`, or end normally if `nil`.
        case end(failure: (any Error)?)
    }

    /// The consumer asks for the next element.
    mutating func receive(_ receiver: Receiver) -> ReceiveAction {
        switch state {
        case .idle:
            state = .receiving(receiver)
            return .suspend
        case .sending(let element, let sender):
            state = .idle
            return .take(element, resume: sender)
        case .finished(let failure):
            state = .finished(failure: nil)
            return .end(failure: failure)
        case .receiving:
            preconditionFailure("an event stream's iterator was used from two tasks at once")
        }
    }

    /// What the producer offering an element must do.
    enum SendAction {
        /// Wait: the machine keeps the element and the sender until the consumer takes it.
        case suspend
        /// Give the element to `receiver`; the hand-off is done.
        case deliver(to: Receiver)
        /// The consumer is gone: the element cannot be delivered.
        case refuse
    }

    /// The producer offers `element`.
    mutating func send(_ element: Element, _ sender: Sender) -> SendAction {
        switch state {
        case .idle:
            state = .sending(element, sender)
            return .suspend
        case .receiving(let receiver):
            state = .idle
            return .deliver(to: receiver)
        case .finished:
            return .refuse
        case .sending:
            preconditionFailure("an event stream has one producer")
        }
    }

    /// Who is left waiting when the sequence ends.
    enum Waiter {
        case receiver(Receiver)
        case sender(Sender)
    }

    /// The producer ends the sequence (with `failure` for the consumer, if any). Returns the
    /// party to resume: a waiting consumer gets the end, a waiting sender a refusal.
    mutating func finish(failure: (any Error)?) -> Waiter? {
        switch state {
        case .idle:
            state = .finished(failure: failure)
            return nil
        case .receiving(let receiver):
            state = .finished(failure: nil)
            return .receiver(receiver)
        case .sending(_, let sender):
            state = .finished(failure: failure)
            return .sender(sender)
        case .finished:
            return nil
        }
    }

    /// The consumer was cancelled: the sequence ends for good, and whoever waits is released
    /// (a waiting consumer ends normally, as `AsyncThrowingStream`'s does on cancellation).
    mutating func cancel() -> Waiter? {
        switch state {
        case .idle, .finished:
            state = .finished(failure: nil)
            return nil
        case .receiving(let receiver):
            state = .finished(failure: nil)
            return .receiver(receiver)
        case .sending(_, let sender):
            state = .finished(failure: nil)
            return .sender(sender)
        }
    }

    /// The producer was cancelled while it waited: it takes its element back, and the consumer
    /// may still get the end (the producer finishes next).
    mutating func withdraw() -> Sender? {
        guard case .sending(_, let sender) = state else { return nil }
        state = .idle
        return sender
    }
}
