import CoAP
import DeviceProtocol
import Firmware
import Logging
import NIOCore

/// An endpoint that can take a firmware update, whatever its transport: a TCP connection
/// (``DeviceChannelHandler``) or a UDP/DTLS session (``DatagramDevice``). The transfer itself
/// (`FirmwareEndpoint+Transfer.swift`) and automatic product updates
/// (`FirmwareEndpoint+AutoUpdate.swift`) are written once against these requirements; each
/// transport only says how to write a message, how to know the connection took a burst, and
/// where its session and state live. Everything runs on the endpoint's event loop.
protocol FirmwareEndpoint: DeviceEndpoint {
    /// The endpoint's part in firmware updates (what the device described, the transfer).
    var firmware: ConnectionFirmware { get set }
    /// The device session the transfer shares message IDs and tokens with; `nil` before the
    /// handshake.
    var firmwareSession: DeviceSession? { get set }
    /// The device, once known.
    var deviceID: String? { get }
    /// The device's product, once it is online.
    var firmwareProductID: Int? { get }
    /// The gateway's shared state.
    var gateway: GatewayContext { get }
    /// The endpoint's logger.
    var logger: Logger { get }
    /// The event loop the endpoint lives on.
    var firmwareEventLoop: any EventLoop { get }
    /// TCP or UDP.
    var firmwareTransport: Transport { get }
    /// Whether the device is connected and online, so that a transfer may start on it.
    var acceptsFirmware: Bool { get }
    /// Writes one message of the transfer (a CON over UDP is retransmitted until ACKed).
    func writeFirmwareMessage(_ message: CoAPMessage)
    /// Pushes out what was written (TCP flushes; UDP has nothing to do).
    func flushFirmwareMessages()
    /// Pushes out what was written and calls `taken` on the loop once the transport took it
    /// (the transfer's back-pressure).
    func whenFirmwareMessagesTaken(_ taken: @escaping () -> Void)
}
