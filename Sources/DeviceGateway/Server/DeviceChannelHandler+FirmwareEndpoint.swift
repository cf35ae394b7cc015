import CoAP
import Firmware
import NIOCore

/// A TCP connection takes firmware updates: messages are sealed into frames; a burst counts as
/// taken once its flush has completed.
extension DeviceChannelHandler: FirmwareEndpoint {
    var firmwareSession: DeviceSession? {
        get { session }
        set { session = newValue }
    }

    var firmwareProductID: Int? { online?.productID }

    var firmwareEventLoop: any EventLoop { eventLoop }

    var firmwareTransport: Transport { .tcp }

    var acceptsFirmware: Bool { context != nil && !closing }

    func writeFirmwareMessage(_ message: CoAPMessage) {
        write(message)
    }

    func flushFirmwareMessages() {
        flushIfNeeded()
    }

    func whenFirmwareMessagesTaken(_ taken: @escaping () -> Void) {
        guard let context else { return }
        needsFlush = false
        let written = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(ByteBuffer()), promise: written)
        written.futureResult.assumeIsolated().whenSuccess(taken)
    }
}
