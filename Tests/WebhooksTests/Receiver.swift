import Crypto
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import SwiftASN1
import Synchronization
import X509

/// A minimal webhook receiver on one address and port, plain or TLS, answering every request
/// `200 OK` and counting them; with TLS it records the server name each client asked for.
final class Receiver: Sendable {
    private let channel: any Channel
    private let record: Record
    /// The port it listens on.
    let port: Int

    final class Record: Sendable {
        let requests = Atomic<Int>(0)
        let serverNames = Mutex<[String?]>([])
    }

    private init(channel: any Channel, record: Record, port: Int) {
        self.channel = channel
        self.record = record
        self.port = port
    }

    /// Requests answered so far.
    var requests: Int { record.requests.load(ordering: .relaxed) }
    /// The SNI host names of the TLS handshakes so far.
    var serverNames: [String?] { record.serverNames.withLock { $0 } }

    /// Listens on `host`:`port` (0 picks one), with TLS when `identity` is given.
    static func start(host: String, port: Int = 0, identity: Identity? = nil) async throws -> Receiver {
        let record = Record()
        var tls: NIOSSLContext?
        if let identity {
            var configuration = TLSConfiguration.makeServerConfiguration(
                certificateChain: [.certificate(identity.certificate)],
                privateKey: .privateKey(identity.privateKey)
            )
            configuration.sslContextCallback = { values, promise in
                record.serverNames.withLock { $0.append(values.serverHostname) }
                promise.succeed(.noChanges)
            }
            tls = try NIOSSLContext(configuration: configuration)
        }
        let context = tls
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let context {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context))
                    }
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(Responder(record: record))
                }
            }
            .bind(host: host, port: port)
            .get()
        return Receiver(channel: channel, record: record, port: channel.localAddress?.port ?? 0)
    }

    func stop() async {
        try? await channel.close()
    }

    private final class Responder: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let record: Record

        init(record: Record) {
            self.record = record
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            guard case .end = unwrapInboundIn(data) else { return }
            record.requests.wrappingAdd(1, ordering: .relaxed)
            let head = HTTPResponseHead(version: .http1_1, status: .ok, headers: ["Content-Length": "2"])
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: "ok")))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
    }

    /// A self-signed certificate for `dnsName` and its key, made fresh for each test run.
    struct Identity {
        var certificate: NIOSSLCertificate
        var privateKey: NIOSSLPrivateKey

        init(dnsName: String) throws {
            let key = P256.Signing.PrivateKey()
            let name = try DistinguishedName { CommonName(dnsName) }
            let now = Date()
            let certificate = try Certificate(
                version: .v3,
                serialNumber: .init(),
                publicKey: .init(key.publicKey),
                notValidBefore: now - 3600,
                notValidAfter: now + 86400,
                issuer: name,
                subject: name,
                signatureAlgorithm: .ecdsaWithSHA256,
                extensions: try Certificate.Extensions {
                    Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                    SubjectAlternativeNames([.dnsName(dnsName)])
                },
                issuerPrivateKey: .init(key)
            )
            var serializer = DER.Serializer()
            try serializer.serialize(certificate)
            self.certificate = try NIOSSLCertificate(bytes: serializer.serializedBytes, format: .der)
            self.privateKey = try NIOSSLPrivateKey(bytes: Array(key.pemRepresentation.utf8), format: .pem)
        }
    }
}
