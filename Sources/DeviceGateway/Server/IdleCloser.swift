import NIOCore

/// Closes a device connection when `IdleStateHandler` reports that nothing was read for the
/// idle timeout (the device is gone or stopped answering).
final class IdleCloser: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? IdleStateHandler.IdleStateEvent, event == .read {
            // Surfaces as the reason on the connection's inbound stream, then ends it.
            context.fireErrorCaught(GatewayError.timedOut("nothing received within the idle timeout"))
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }
}
