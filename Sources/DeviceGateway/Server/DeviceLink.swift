import AerosolModels
import DeviceProtocol
import NIOCore

/// A handle on one online device's connection that any task may hold: it hops onto the
/// connection's event loop to send requests and deliver events.
struct DeviceLink: Sendable {
    let deviceID: String
    let serial: UInt64
    let channel: any Channel
    let handler: NIOLoopBound<DeviceChannelHandler>

    /// Sends `request` and waits for the device's answer, at most `timeout`.
    ///
    /// - Throws: ``GatewayError`` `.timedOut`, `.notConnected` (the connection closed first) or
    ///   `.busy` (255 requests in flight already).
    func request(_ request: DeviceRequest, timeout: Duration) async throws -> DeviceResponse {
        let promise = channel.eventLoop.makePromise(of: DeviceResponse.self)
        let handler = self.handler
        channel.eventLoop.execute {
            handler.value.send(request, timeout: timeout, promise: promise)
        }
        return try await promise.futureResult.get()
    }

    /// The application Describe the device last gave on this connection, if any.
    func application() async throws -> Describe? {
        let handler = self.handler
        return try await channel.eventLoop.submit { handler.value.application }.get()
    }

    /// Writes `event` to the device if one of its subscriptions matches (best effort: a NON
    /// message, dropped if the connection cannot take more).
    func deliver(_ event: Event) {
        let handler = self.handler
        channel.eventLoop.execute { handler.value.deliver(event) }
    }

    /// Has the connection read the device's owner and product again.
    func refreshScope() {
        let handler = self.handler
        channel.eventLoop.execute { handler.value.refreshScope() }
    }

    /// Closes the connection.
    func close() {
        channel.close(promise: nil)
    }
}
