import CoAP
import DeviceProtocol
import Foundation
import NIOCore
import NIOPosix

/// A virtual Particle device speaking the real TCP protocol (handshake, encrypted frames,
/// CoAP): what the tests and `aerosol device simulate` use.
public struct DeviceSimulator: Sendable {
    /// The device side of the handshake (its id and keys).
    public let handshake: DeviceHandshake
    /// The Hello it sends (default: the observed Device OS 5.0.0 virtual device).
    public var hello: Hello
    /// Its variables and functions.
    public var application: SimulatedApplication
    /// Its firmware, which accepts updates; `nil` ignores them. Share one instance across
    /// connections: it keeps what the device keeps across restarts.
    public var firmware: SimulatedFirmware?

    /// The Hello of the Device OS 5.0.0 virtual device (platform 3), as observed.
    public static let defaultHello = Hello(
        productID: 3,
        productFirmwareVersion: 0xFFFF,
        flags: [.diagnosticsSupport, .immediateUpdates, .goodbyeSupport, .deviceInitiatedDescribe],
        platformID: 3,
        systemVersion: 5002,
        maximumMessageSize: 960,
        maximumBinarySize: 10_485_760,
        otaChunkSize: 512
    )

    /// A simulator for the device `deviceID` with its private key (PEM or DER) and the server's
    /// public key DER (see ``DeviceKeyFile/serverPublicKeyDER(atPath:)``).
    public init(
        deviceID: DeviceID,
        privateKey: some DataProtocol,
        serverPublicKeyDER: [UInt8],
        hello: Hello = DeviceSimulator.defaultHello,
        application: SimulatedApplication = SimulatedApplication()
    ) throws {
        self.handshake = try DeviceHandshake(
            deviceID: deviceID,
            privateKey: privateKey,
            serverPublicKeyDER: serverPublicKeyDER
        )
        self.hello = hello
        self.application = application
    }

    /// Connects, runs the handshake and the Hello exchange (within `timeout`), runs `body` with
    /// the connected device, then disconnects.
    ///
    /// - Throws: ``GatewayError`` if the server refuses the device, closes the connection or
    ///   does not answer in time; whatever `body` throws.
    public func run<T: Sendable>(
        host: String,
        port: Int,
        timeout: Duration = .seconds(10),
        _ body: (SimulatedDevice) async throws -> T
    ) async throws -> T {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        let (stream, continuation) = AsyncStream.makeStream(of: SimulatedDevice.Outgoing.self)
        // After an applied update the device's Hello carries the new product version.
        var announced = self.hello
        if let version = firmware?.productVersion { announced.productFirmwareVersion = version }
        let hello = announced
        let device = SimulatedDevice(
            deviceID: handshake.deviceID,
            hello: hello,
            application: application,
            firmware: firmware,
            outgoing: continuation
        )
        firmware?.attach(device)
        let closing = channel.channel
        device.closer.withLock { $0 = { closing.close(promise: nil) } }
        defer { firmware?.detach() }
        let handshake = self.handshake
        let underlying = channel.channel
        let timer = underlying.eventLoop.scheduleTask(in: TimeAmount(timeout)) {
            device.fail(GatewayError.timedOut("the server did not complete the handshake and Hello in time"))
            underlying.close(promise: nil)
        }
        return try await channel.executeThenClose { inbound, outbound in
            try await withThrowingTaskGroup(of: Void.self, returning: T.self) { group in
                group.addTask {
                    try await Self.write(stream, to: outbound)
                }
                group.addTask {
                    do {
                        try await Self.read(inbound, device: device, handshake: handshake, hello: hello)
                        device.fail(GatewayError.connectionClosed())
                    } catch {
                        device.fail(error)
                    }
                }
                do {
                    try await device.waitUntilReady()
                    timer.cancel()
                    if hello.flags.contains(.deviceInitiatedDescribe) {
                        // As Device OS 2.0 and later: the system part, then the application.
                        try await device.describe(system: true)
                        try await device.describe()
                    }
                    let result = try await body(device)
                    // Let the writer drain what the body queued, then hang up.
                    device.finishWriting()
                    _ = try? await group.next()
                    group.cancelAll()
                    underlying.close(promise: nil)
                    return result
                } catch {
                    timer.cancel()
                    device.fail(error)
                    group.cancelAll()
                    underlying.close(promise: nil)
                    throw error
                }
            }
        }
    }

    /// The writer task: raw handshake bytes, then sealed messages, in order.
    private static func write(
        _ stream: AsyncStream<SimulatedDevice.Outgoing>,
        to outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
    ) async throws {
        var channel: SecureChannel?
        for await item in stream {
            switch item {
            case .raw(let bytes):
                try await outbound.write(ByteBuffer(bytes: bytes))
            case .establish(let keys):
                channel = SecureChannel(keys: keys)
            case .message(let message):
                guard var sealing = channel else { continue }
                let frame = try sealing.seal(try message.encoded())
                channel = sealing
                try await outbound.write(ByteBuffer(bytes: frame))
            }
        }
    }

    /// The reader task: the handshake, the Hello exchange, then pings, ACKs and the server's
    /// requests until the end.
    private static func read(
        _ inbound: NIOAsyncChannelInboundStream<ByteBuffer>,
        device: SimulatedDevice,
        handshake: DeviceHandshake,
        hello: Hello
    ) async throws {
        var iterator = inbound.makeAsyncIterator()
        var buffer: [UInt8] = []
        func take(_ count: Int) async throws -> [UInt8] {
            while buffer.count < count {
                guard let chunk = try await iterator.next() else {
                    throw GatewayError.handshakeFailed(
                        "the server closed the connection during the handshake (is the device provisioned?)"
                    )
                }
                buffer.append(contentsOf: chunk.readableBytesView)
            }
            defer { buffer.removeFirst(count) }
            return Array(buffer.prefix(count))
        }
        let nonce = try await take(ServerHandshake.nonceSize)
        device.write(.raw(try handshake.answer(nonce: nonce)))
        let keys = try handshake.accept(try await take(DeviceHandshake.replySize))
        device.write(.establish(keys))
        let helloID = device.established(firstMessageIDs: keys.deviceMessageIDs)
        device.write(.message(hello.message(messageID: helloID)))
        var decoder = FrameDecoder(keys: keys)
        var pending = buffer
        while true {
            for bytes in try decoder.decode(pending) {
                guard let message = try? CoAPMessage(decoding: bytes) else { continue }
                if let firmware = device.firmware, firmware.handles(message) {
                    firmware.receive(message)
                    continue
                }
                switch (message.type, message.code) {
                case (.confirmable, .empty):
                    if device.isResponsive { device.send(message.emptyAcknowledgement) }
                case (.acknowledgement, _), (.reset, _):
                    device.received(acknowledgement: message)
                case (_, .post) where message.path == "h":
                    device.becameReady()
                default:
                    device.handle(message)
                }
            }
            guard let chunk = try await iterator.next() else { return }
            pending = Array(chunk.readableBytesView)
        }
    }
}
