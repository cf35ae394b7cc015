import NIOCore
import NIOPosix
import Synchronization

/// A UDP relay between a device and the gateway that keeps a copy of every record the device
/// sent, so a test can send them again (replays) or send altered copies, as an attacker on the
/// path could.
final class DatagramRelay: Sendable {
    let channel: any Channel
    private let state: RelayHandler.State

    /// The port devices should send to.
    var port: Int { channel.localAddress?.port ?? 0 }

    /// Starts relaying to `server`.
    init(to server: SocketAddress) async throws {
        let state = RelayHandler.State(server: server)
        self.state = state
        channel = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(RelayHandler(state: state))
                }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
    }

    /// The device's records so far.
    var captured: [[UInt8]] { state.captured.withLock { $0 } }

    /// Sends `datagram` to the gateway as if from the device.
    func inject(_ datagram: [UInt8]) async throws {
        let envelope = AddressedEnvelope(remoteAddress: state.server, data: ByteBuffer(bytes: datagram))
        try await channel.writeAndFlush(envelope).get()
    }

    func close() async {
        try? await channel.close()
    }
}
