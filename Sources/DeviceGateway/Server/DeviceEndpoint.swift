import AerosolModels
import DeviceProtocol
import NIOCore

/// One online device as the rest of the gateway sees it, whatever its transport: a TCP
/// connection (``DeviceChannelHandler``) or a UDP/DTLS session (``DatagramDevice``). Every
/// method is called on the endpoint's event loop, through a ``DeviceLink``.
protocol DeviceEndpoint: AnyObject {
    /// Sends `request`; `promise` completes with the device's answer, or fails after `timeout`.
    func send(_ request: DeviceRequest, timeout: Duration, promise: EventLoopPromise<DeviceResponse>)
    /// The application Describe the device last gave, if any.
    var application: Describe? { get }
    /// Writes `event` to the device if one of its subscriptions matches.
    func deliver(_ event: Event)
    /// Reads the device's owner and product again.
    func refreshScope()
    /// Ends the device's connection or session (another one replaced it, or its key changed).
    func disconnect()
}
