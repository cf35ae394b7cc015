import CoAP
import DeviceProtocol
import Synchronization

/// A connected simulated device, handed to the body of ``DeviceSimulator/run(host:port:timeout:_:)``.
///
/// Every write goes through one writer task in order (the channel's IV chaining needs frames in
/// the order they were sealed); a reader task answers the server's pings and requests (Describe,
/// variables, functions, signal: `SimulatedDevice+Requests.swift`), completes
/// ``publish(_:data:confirmable:)`` calls with the server's ACK and hands events delivered to
/// the device's subscriptions to ``events``.
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
    /// The Hello it sent.
    public let hello: Hello
    /// Events the cloud delivered to the device's subscriptions, in order (the newest 1,000 are
    /// kept for a reader that falls behind).
    public let events: AsyncStream<ReceivedEvent>
    let received: AsyncStream<ReceivedEvent>.Continuation
    let application: Mutex<SimulatedApplication>
    let signaling = Mutex(false)
    /// The device's firmware, which takes updates (``DeviceSimulator/firmware``).
    let firmware: SimulatedFirmware?
    /// Closes the connection (set once it is open).
    let closer = Mutex<(@Sendable () -> Void)?>(nil)
    private let outgoing: AsyncStream<Outgoing>.Continuation
    private let state = Mutex(State())

    init(
        deviceID: DeviceID,
        hello: Hello,
        application: SimulatedApplication,
        firmware: SimulatedFirmware? = nil,
        outgoing: AsyncStream<Outgoing>.Continuation
    ) {
        self.deviceID = deviceID
        self.hello = hello
        self.firmware = firmware
        self.application = Mutex(application)
        self.outgoing = outgoing
        (self.events, self.received) = AsyncStream.makeStream(
            of: ReceivedEvent.self,
            bufferingPolicy: .bufferingNewest(1000)
        )
    }

    /// Whether the firmware answers requests and pings (see ``setResponsive(_:)``).
    public var isResponsive: Bool { application.withLock { $0.isResponsive } }

    /// Whether the cloud has asked the device to signal (and not to stop since).
    public var isSignaling: Bool { signaling.withLock { $0 } }

    /// Makes the firmware stop (or resume) answering the cloud's requests and pings.
    public func setResponsive(_ responsive: Bool) {
        application.withLock { $0.isResponsive = responsive }
    }

    /// Sets a variable's value (its type may change too; describe again to announce that).
    public func setVariable(_ name: String, to value: VariableValue) {
        application.withLock { $0.variables[name] = value }
    }

    /// Subscribes to events whose name starts with `prefix` (CON GET `/e/<prefix>`, with the
    /// `u` query for `ownDevicesOnly`) and returns the server's answer (`0.00` accepted).
    @discardableResult
    public func subscribe(_ prefix: String, ownDevicesOnly: Bool = false) async throws -> CoAPCode {
        var message = CoAPMessage(type: .confirmable, code: .get, messageID: 0)
        message.appendPath("e", prefix)
        if ownDevicesOnly { message.appendQuery([UInt8(ascii: "u")]) }
        return try await request(message).code
    }

    /// Pushes a Describe (CON POST `/d`, no token) as Device OS 2.0 and later do after Hello:
    /// the system part (flag `0x01`) or the application part (`0x02`).
    @discardableResult
    public func describe(system: Bool = false) async throws -> CoAPCode {
        let userModule = firmware?.describeEntry
        let payload = application.withLock {
            $0.describeDocument(flags: system ? 0x01 : 0x02, hello: hello, userModule: userModule)
        }
        var message = CoAPMessage(type: .confirmable, code: .post, messageID: 0, payload: payload)
        message.appendPath("d")
        message.appendQuery([system ? 0x01 : 0x02])
        return try await request(message).code
    }

    /// The next message ID the device originates.
    func nextMessageID() -> UInt16 {
        state.withLock { $0.messageIDs.next() }
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

    /// Drops the connection, as a device does that restarts or gives up.
    public func disconnect() {
        let close = closer.withLock { $0 }
        close?()
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
        received.finish()
    }
}
