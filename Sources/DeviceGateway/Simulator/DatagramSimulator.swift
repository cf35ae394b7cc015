import CoAP
// swift-crypto 3.12.3 does not mark its P-256 keys Sendable, though they are immutable values.
@preconcurrency import Crypto
import DTLS
import DeviceProtocol
import Foundation
import NIOCore
import NIOPosix
import Synchronization

/// A virtual Gen3/Gen4 device speaking UDP/DTLS (handshake with raw public keys and a
/// connection ID, CoAP over DTLS records): what `aerosol device simulate --protocol udp` uses.
///
/// Its DTLS session outlives a ``run(host:port:timeout:_:)``: the next run resumes it as Device
/// OS does after sleep — no handshake, a new socket (so a new source port), records marked 253
/// and a CoAP ping instead of a Hello — unless the server ended it.
public final class DatagramSimulator: Sendable {
    /// The device's id.
    public let deviceID: DeviceID
    /// The Hello it sends after a full handshake.
    public let hello: Hello
    /// Its variables and functions.
    public let application: SimulatedApplication
    /// Its firmware, which accepts updates (made with transport `.udp`); `nil` ignores them. It
    /// keeps what the device keeps across runs; after it restarts the device, the next run is a
    /// full handshake with a Hello and Describe of the new firmware.
    public let firmware: SimulatedFirmware?
    private let client: Mutex<DTLSClient>
    private let established = Mutex(false)

    /// What a run sent last while connecting (a handshake flight, then the Hello or the resume
    /// ping), sent again every second until the server answers, as the device retransmits too:
    /// UDP loses datagrams, and a busy server's socket buffer drops them. A CoAP message is
    /// sealed again (a new record, the same message ID: the server answers a duplicate).
    final class Flight: Sendable {
        let last = Mutex<SimulatedDevice.Outgoing?>(nil)
        let done = Mutex(false)
    }

    /// The Hello of a Device OS 6.2 Argon (platform 12) with this device ID.
    public static func defaultHello(deviceID: DeviceID) -> Hello {
        Hello(
            productID: 12,
            productFirmwareVersion: 0xFFFF,
            flags: [.diagnosticsSupport, .immediateUpdates, .goodbyeSupport, .deviceInitiatedDescribe],
            platformID: 12,
            deviceID: deviceID.bytes,
            systemVersion: 6200,
            maximumMessageSize: 1152,
            maximumBinarySize: 1_536_000,
            otaChunkSize: 512
        )
    }

    /// A simulator for the device `deviceID` with its EC private key and the server's EC public
    /// key (from the UDP key blob).
    public init(
        deviceID: DeviceID,
        privateKey: P256.Signing.PrivateKey,
        serverPublicKey: P256.Signing.PublicKey,
        hello: Hello? = nil,
        application: SimulatedApplication = SimulatedApplication(),
        firmware: SimulatedFirmware? = nil
    ) {
        self.deviceID = deviceID
        self.hello = hello ?? Self.defaultHello(deviceID: deviceID)
        self.application = application
        self.firmware = firmware
        self.client = Mutex(DTLSClient(deviceKey: privateKey, serverPublicKey: serverPublicKey))
    }

    /// A simulator from key files: the device's EC private key (SEC1 or PKCS#8, DER or PEM,
    /// such as a Gen3 `device_key.der`) and the server's key (the 320-byte UDP blob of `aerosol
    /// keys server --protocol udp`, a 91-byte SubjectPublicKeyInfo DER, or a PEM public key).
    ///
    /// - Throws: ``GatewayError/invalidKeyFile(_:)`` or ``GatewayError/invalidServerKeyFile(_:)``.
    public convenience init(
        deviceID: DeviceID,
        privateKeyFile: some DataProtocol,
        serverKeyFile: some DataProtocol,
        hello: Hello? = nil,
        application: SimulatedApplication = SimulatedApplication(),
        firmware: SimulatedFirmware? = nil
    ) throws {
        let data = Data(privateKeyFile)
        let privateKey: P256.Signing.PrivateKey
        if let text = String(data: data, encoding: .utf8), text.contains("PRIVATE KEY-----") {
            guard let key = try? P256.Signing.PrivateKey(pemRepresentation: text) else {
                throw GatewayError.invalidKeyFile("not an EC P-256 private key")
            }
            privateKey = key
        } else {
            // Checked first by the EC key reader (it only hands P-256 keys to swift-crypto).
            guard (try? ECDevicePublicKey(privateKey: data)) != nil,
                let key = try? P256.Signing.PrivateKey(derRepresentation: data)
            else { throw GatewayError.invalidKeyFile("not an EC P-256 private key") }
            privateKey = key
        }
        let server = Data(serverKeyFile)
        let spki: ECDevicePublicKey
        if let text = String(data: server, encoding: .utf8), text.contains("-----BEGIN PUBLIC KEY-----") {
            guard let key = try? ECDevicePublicKey(pemRepresentation: text) else {
                throw GatewayError.invalidServerKeyFile("not an EC P-256 public key")
            }
            spki = key
        } else {
            guard let key = try? ECDevicePublicKey(derRepresentation: Array(server.prefix(91))) else {
                throw GatewayError.invalidServerKeyFile("not a UDP server key blob or an EC P-256 public key")
            }
            spki = key
        }
        guard let serverKey = try? P256.Signing.PublicKey(derRepresentation: spki.derRepresentation) else {
            throw GatewayError.invalidServerKeyFile("not an EC P-256 public key")
        }
        self.init(
            deviceID: deviceID,
            privateKey: privateKey,
            serverPublicKey: serverKey,
            hello: hello,
            application: application,
            firmware: firmware
        )
    }

    /// A simulator with a new random device ID and EC key (for fleets), and the PEM public key
    /// to provision for it.
    public static func generated(
        serverKeyFile: some DataProtocol,
        application: SimulatedApplication = SimulatedApplication()
    ) throws -> (simulator: DatagramSimulator, publicKeyPEM: String) {
        var generator = SystemRandomNumberGenerator()
        guard let deviceID = DeviceID(bytes: (0..<12).map { _ in UInt8.random(in: 0...255, using: &generator) }) else {
            throw GatewayError.invalidKeyFile("could not make a device ID")
        }
        let key = P256.Signing.PrivateKey()
        let simulator = try DatagramSimulator(
            deviceID: deviceID,
            privateKeyFile: key.derRepresentation,
            serverKeyFile: serverKeyFile,
            application: application
        )
        return (simulator, key.publicKey.pemRepresentation)
    }

    /// Whether the next run resumes the session instead of a handshake.
    public var canResume: Bool { established.withLock { $0 } }

    /// Opens a new socket, runs the handshake and Hello (or resumes the session with a ping),
    /// within `timeout`, runs `body` with the device, then closes the socket (keeping the
    /// session, as a device that goes to sleep).
    ///
    /// - Throws: ``GatewayError`` if the server refuses the device or does not answer in time;
    ///   whatever `body` throws.
    public func run<T: Sendable>(
        host: String,
        port: Int,
        timeout: Duration = .seconds(10),
        _ body: (SimulatedDevice) async throws -> T
    ) async throws -> T {
        let server = try SocketAddress.makeAddressResolvingHost(host, port: port)
        let channel = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: server.protocol == .inet6 ? "::" : "0.0.0.0", port: 0) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<AddressedEnvelope<ByteBuffer>, AddressedEnvelope<ByteBuffer>>(
                        wrappingChannelSynchronously: channel
                    )
                }
            }
        let (stream, continuation) = AsyncStream.makeStream(of: SimulatedDevice.Outgoing.self)
        // After an applied update the device's Hello carries the new product version.
        var announced = self.hello
        if let version = firmware?.productVersion { announced.productFirmwareVersion = version }
        let hello = announced
        let device = SimulatedDevice(
            deviceID: deviceID,
            hello: hello,
            application: application,
            firmware: firmware,
            outgoing: continuation
        )
        let firmware = self.firmware
        let restarts = firmware?.restarts
        firmware?.attach(device)
        defer {
            firmware?.detach()
            // A restart loses the in-memory session: the next run is a full handshake.
            if let restarts, firmware?.restarts != restarts { established.withLock { $0 = false } }
        }
        let resuming = canResume
        let underlying = channel.channel
        device.closer.withLock { $0 = { underlying.close(promise: nil) } }
        let flight = Flight()
        let timer = underlying.eventLoop.scheduleTask(in: TimeAmount(timeout)) {
            device.fail(GatewayError.timedOut("the server did not complete the handshake and Hello in time"))
            underlying.close(promise: nil)
        }
        let retransmission = underlying.eventLoop.scheduleRepeatedTask(initialDelay: .seconds(1), delay: .seconds(1)) {
            task in
            guard !flight.done.withLock({ $0 }) else {
                task.cancel()
                return
            }
            if let last = flight.last.withLock({ $0 }) { device.write(last) }
        }
        defer { retransmission.cancel() }
        return try await channel.executeThenClose { inbound, outbound in
            try await withThrowingTaskGroup(of: Void.self, returning: T.self) { group in
                group.addTask {
                    try await self.write(stream, to: outbound, server: server)
                }
                group.addTask {
                    do {
                        try await self.read(
                            inbound,
                            device: device,
                            hello: hello,
                            resuming: resuming,
                            flight: flight
                        )
                        device.fail(GatewayError.connectionClosed())
                    } catch {
                        device.fail(error)
                    }
                }
                do {
                    try await device.waitUntilReady()
                    timer.cancel()
                    if !resuming, hello.flags.contains(.deviceInitiatedDescribe) {
                        try await device.describe(system: true)
                        try await device.describe()
                    }
                    let result = try await body(device)
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

    /// The writer task: handshake datagrams as they are, CoAP messages sealed into records.
    private func write(
        _ stream: AsyncStream<SimulatedDevice.Outgoing>,
        to outbound: NIOAsyncChannelOutboundWriter<AddressedEnvelope<ByteBuffer>>,
        server: SocketAddress
    ) async throws {
        for await item in stream {
            let datagram: [UInt8]
            switch item {
            case .raw(let bytes):
                datagram = bytes
            case .establish:
                continue
            case .message(let message):
                let plaintext = try message.encoded()
                let sealed = client.withLock { try? $0.seal(plaintext) }
                guard let sealed else { continue }
                datagram = sealed
            }
            try await outbound.write(AddressedEnvelope(remoteAddress: server, data: ByteBuffer(bytes: datagram)))
        }
    }

    /// The reader task: the handshake (or the resume ping), the Hello exchange, then pings,
    /// ACKs and the server's requests until the end.
    private func read(
        _ inbound: NIOAsyncChannelInboundStream<AddressedEnvelope<ByteBuffer>>,
        device: SimulatedDevice,
        hello: Hello,
        resuming: Bool,
        flight: Flight
    ) async throws {
        var iterator = inbound.makeAsyncIterator()
        var resumePing: UInt16?
        if resuming {
            client.withLock { $0.resume() }
            let id = device.established(firstMessageIDs: MessageIDCounter(current: .random(in: 0...UInt16.max)))
            resumePing = id
            let ping = CoAPMessage(type: .confirmable, code: .empty, messageID: id)
            flight.last.withLock { $0 = .message(ping) }
            device.write(.message(ping))
        } else {
            let clientHello = client.withLock { $0.clientHello() }
            flight.last.withLock { $0 = .raw(clientHello) }
            device.write(.raw(clientHello))
            while !client.withLock({ $0.isEstablished }) {
                guard let envelope = try await iterator.next() else { throw GatewayError.connectionClosed() }
                let bytes = Array(envelope.data.readableBytesView)
                let reply: [UInt8]?
                do {
                    reply = try client.withLock { client throws(DTLSError) in try client.receive(bytes) }
                } catch {
                    throw GatewayError.handshakeFailed("the DTLS handshake failed: \(error)")
                }
                if let reply {
                    flight.last.withLock { $0 = .raw(reply) }
                    device.write(.raw(reply))
                }
            }
            established.withLock { $0 = true }
            let helloID = device.established(firstMessageIDs: MessageIDCounter(current: .random(in: 0...UInt16.max)))
            let helloMessage = hello.message(messageID: helloID, confirmable: true)
            flight.last.withLock { $0 = .message(helloMessage) }
            device.write(.message(helloMessage))
        }
        var ready = false
        while let envelope = try await iterator.next() {
            let (messages, closed) = client.withLock { $0.open(Array(envelope.data.readableBytesView)) }
            for bytes in messages {
                guard let message = try? CoAPMessage(decoding: bytes) else { continue }
                if ready, let firmware = device.firmware, firmware.handles(message) {
                    firmware.receive(message)
                    continue
                }
                switch (message.type, message.code) {
                case (.reset, _) where !ready:
                    // Device OS discards its session on an RST: a full handshake next time.
                    established.withLock { $0 = false }
                    throw GatewayError.refused("the server refused the device (is its EC key provisioned?)")
                case (.confirmable, .empty):
                    if device.isResponsive { device.send(message.emptyAcknowledgement) }
                case (.acknowledgement, _), (.reset, _):
                    if message.messageID == resumePing, !ready {
                        ready = true
                        flight.done.withLock { $0 = true }
                        device.becameReady()
                    }
                    device.received(acknowledgement: message)
                case (_, .post) where message.path == "h":
                    guard !ready else { continue }
                    ready = true
                    flight.done.withLock { $0 = true }
                    device.becameReady()
                default:
                    device.handle(message)
                }
            }
            if closed {
                established.withLock { $0 = false }
                throw GatewayError.connectionClosed("the server ended the DTLS session")
            }
        }
    }
}
