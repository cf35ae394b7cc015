import AerosolModels
import DeviceProtocol
import NIOCore

/// A handle on one online device that any task may hold: it hops onto the event loop of the
/// device's connection (TCP) or session (UDP) to send requests and deliver events.
struct DeviceLink: Sendable {
    let deviceID: String
    let serial: UInt64
    let eventLoop: any EventLoop
    let endpoint: NIOLoopBound<any DeviceEndpoint>
    let transport: DeviceTransport
    private let metrics: GatewayMetrics

    /// A link to `endpoint`, which lives on `eventLoop`; call on that loop.
    init(
        deviceID: String,
        serial: UInt64,
        eventLoop: any EventLoop,
        endpoint: any DeviceEndpoint,
        transport: DeviceTransport,
        metrics: GatewayMetrics
    ) {
        self.deviceID = deviceID
        self.serial = serial
        self.eventLoop = eventLoop
        self.endpoint = NIOLoopBound(endpoint, eventLoop: eventLoop)
        self.transport = transport
        self.metrics = metrics
    }

    /// Sends `request` and waits for the device's answer, at most `timeout`.
    ///
    /// - Throws: ``GatewayError`` `.timedOut`, `.notConnected` (the connection closed first) or
    ///   `.busy` (255 requests in flight already).
    func request(_ request: DeviceRequest, timeout: Duration) async throws -> DeviceResponse {
        let promise = eventLoop.makePromise(of: DeviceResponse.self)
        let endpoint = self.endpoint
        let started = ContinuousClock.now
        defer { metrics.request(request, took: ContinuousClock.now - started) }
        eventLoop.execute {
            endpoint.value.send(request, timeout: timeout, promise: promise)
        }
        return try await promise.futureResult.get()
    }

    /// The application Describe the device last gave, if any.
    func application() async throws -> Describe? {
        let endpoint = self.endpoint
        return try await eventLoop.submit { endpoint.value.application }.get()
    }

    /// Writes `event` to the device if one of its subscriptions matches (best effort: a NON
    /// message, dropped if the connection cannot take more).
    func deliver(_ event: Event) {
        let endpoint = self.endpoint
        eventLoop.execute { endpoint.value.deliver(event) }
    }

    /// Has the connection read the device's owner and product again.
    func refreshScope() {
        let endpoint = self.endpoint
        eventLoop.execute { endpoint.value.refreshScope() }
    }

    /// Closes the connection (TCP) or ends the session (UDP).
    func close() {
        let endpoint = self.endpoint
        eventLoop.execute { endpoint.value.disconnect() }
    }
}
