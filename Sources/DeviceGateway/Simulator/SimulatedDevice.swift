import CoAP
import DeviceProtocol
import Synchronization

/// A connected simulated device, handed to the body of ``DeviceSimulator/run(host:port:timeout:_:)``.
///
/// Every write goes through one writer task in order (the IV chaining of §4 needs frames in
/// the order they were sealed); a reader task answers the server's pings and completes
/// ``publish(_:data:confirmable:)`` calls with the server's ACK.
public final class SimulatedDevice: Sendable {
    enum Outgoing: Sendable {
        case raw([UInt8])
        case establish(SessionKeys)
        case message(CoAPMessage)
    }

    private struct State {
        var messageIDs = MessageIDCounter(current: 0)
        var waiters: [UInt16: CheckedContinuation<CoAPMessage, any Error>] = [:]
        var ready: CheckedContinuation<Void, any Error>?
        var isReady = false
        var failure: (any Error)?
    }

    /// The device's id.
    public let deviceID: DeviceID
    private let outgoing: AsyncStream<Outgoing>.Continuation
    private let state = Mutex(State())

    init(deviceID: DeviceID, outgoing: AsyncStream<Outgoing>.Continuation) {
        self.deviceID = deviceID
        self.outgoing = outgoing
    }

    /// Publishes an event (POST `/E/<name>`). A confirmable publish waits for the server's ACK
    /// and returns its code (`0.00` accepted, `4.00` slow down); a non-confirmable one returns
    /// `nil` once queued.
    @discardableResult
    public func publish(_ name: String, data: String? = nil, confirmable: Bool = true) async throws -> CoAPCode? {
        var message = CoAPMessage(
            type: confirmable ? .confirmable : .nonConfirmable,
            code: .post,
            messageID: 0,
            payload: Array((data ?? "").utf8)
        )
        message.appendPath("E", name)
        guard confirmable else {
            message.messageID = try state.withLock { state in
                if let failure = state.failure { throw failure }
                return state.messageIDs.next()
            }
            outgoing.yield(.message(message))
            return nil
        }
        return try await request(message).code
    }

    /// Sends a ping (CON empty) and waits for the ACK.
    public func ping() async throws {
        _ = try await request(CoAPMessage(type: .confirmable, code: .empty, messageID: 0))
    }

    /// Sends a CON message with the next message ID and returns the server's ACK (or RST).
    public func request(_ message: CoAPMessage) async throws -> CoAPMessage {
        var message = message
        return try await withCheckedThrowingContinuation { continuation in
            let failure = state.withLock { state -> (any Error)? in
                if let failure = state.failure { return failure }
                message.messageID = state.messageIDs.next()
                state.waiters[message.messageID] = continuation
                return nil
            }
            if let failure {
                continuation.resume(throwing: failure)
            } else {
                outgoing.yield(.message(message))
            }
        }
    }

    /// Sends a message as is (message ID included), without waiting for anything.
    public func send(_ message: CoAPMessage) {
        outgoing.yield(.message(message))
    }

    // MARK: Driven by the simulator's tasks

    func write(_ item: Outgoing) {
        outgoing.yield(item)
    }

    func finishWriting() {
        outgoing.finish()
    }

    func established(firstMessageIDs: MessageIDCounter) -> UInt16 {
        state.withLock { state in
            state.messageIDs = firstMessageIDs
            return state.messageIDs.next()
        }
    }

    func becameReady() {
        let ready = state.withLock { state in
            state.isReady = true
            defer { state.ready = nil }
            return state.ready
        }
        ready?.resume()
    }

    func waitUntilReady() async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let outcome = state.withLock { state -> Result<Bool, any Error> in
                if let failure = state.failure { return .failure(failure) }
                if state.isReady { return .success(true) }
                state.ready = continuation
                return .success(false)
            }
            switch outcome {
            case .failure(let error): continuation.resume(throwing: error)
            case .success(true): continuation.resume()
            case .success(false): break
            }
        }
    }

    func received(acknowledgement message: CoAPMessage) {
        let waiter = state.withLock { $0.waiters.removeValue(forKey: message.messageID) }
        waiter?.resume(returning: message)
    }

    func fail(_ error: any Error) {
        let (waiters, ready) = state.withLock { state in
            if state.failure == nil { state.failure = error }
            defer {
                state.waiters = [:]
                state.ready = nil
            }
            return (Array(state.waiters.values), state.ready)
        }
        for waiter in waiters { waiter.resume(throwing: error) }
        ready?.resume(throwing: error)
        outgoing.finish()
    }
}
