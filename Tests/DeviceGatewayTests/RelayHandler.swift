import NIOCore
import Synchronization

/// Forwards the device's datagrams to the gateway (keeping a copy of its CID records) and the
/// gateway's to the device's last address.
final class RelayHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    typealias OutboundOut = AddressedEnvelope<ByteBuffer>

    /// What the relay knows, shared with the test.
    final class State: Sendable {
        let server: SocketAddress
        let captured = Mutex<[[UInt8]]>([])
        let device = Mutex<SocketAddress?>(nil)

        init(server: SocketAddress) {
            self.server = server
        }
    }

    let state: State

    init(state: State) {
        self.state = state
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        if envelope.remoteAddress == state.server {
            guard let device = state.device.withLock({ $0 }) else { return }
            context.writeAndFlush(
                wrapOutboundOut(AddressedEnvelope(remoteAddress: device, data: envelope.data)),
                promise: nil
            )
        } else {
            state.device.withLock { $0 = envelope.remoteAddress }
            let bytes = Array(envelope.data.readableBytesView)
            if let first = bytes.first, first == 0x19 || first == 0xfd {
                state.captured.withLock { $0.append(bytes) }
            }
            context.writeAndFlush(
                wrapOutboundOut(AddressedEnvelope(remoteAddress: state.server, data: envelope.data)),
                promise: nil
            )
        }
    }
}
