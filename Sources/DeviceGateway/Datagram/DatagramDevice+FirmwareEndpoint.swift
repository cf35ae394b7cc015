import CoAP
import Firmware
import NIOCore

/// A UDP/DTLS session takes firmware updates like a TCP connection: each message is sealed into
/// its own record, and the session's ``CoAPReliability`` retransmits the transfer's CONs and
/// answers duplicates of the device's CONs. A burst counts as taken once written (a datagram
/// socket has no flush); the transfer paces bursts itself over UDP
/// (`TransferConfiguration.udpBurstInterval`). The device going offline interrupts the transfer
/// as a closed TCP connection does; it goes on when the device is back.
extension DatagramDevice: FirmwareEndpoint {
    var firmwareSession: DeviceSession? {
        get { ended ? nil : session }
        set { if let newValue { session = newValue } }
    }

    var firmwareProductID: Int? { productID }

    var firmwareEventLoop: any EventLoop { eventLoop }

    var firmwareTransport: Transport { .udp }

    var acceptsFirmware: Bool { !ended && isOnline }

    func writeFirmwareMessage(_ message: CoAPMessage) {
        send(message)
    }

    func flushFirmwareMessages() {}

    func whenFirmwareMessagesTaken(_ taken: @escaping () -> Void) {
        eventLoop.assumeIsolated().execute(taken)
    }
}
