@preconcurrency import Crypto
import DTLS

/// Fixed keys and a driver that passes datagrams between a ``TestClient`` and a
/// ``DTLSHandshake``.
struct HandshakeHarness {
    static let serverKey = try! P256.Signing.PrivateKey(
        rawRepresentation: hex("c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721")
    )
    static let deviceKey = try! P256.Signing.PrivateKey(
        rawRepresentation: hex("519b423d715f8b581f4fa8ee59f4771a5b44c8130b4e3eacca54a56dda72b464")
    )
    static let address: [UInt8] = [192, 0, 2, 7, 0x16, 0x34]
    static let origin = ContinuousClock.now

    var now = HandshakeHarness.origin
    var generator = SplitMix64(seed: 0xD715)
    var handshake: DTLSHandshake
    var client: TestClient

    init(offersConnectionID: Bool = true, cookies: Bool = true, deviceKey: P256.Signing.PrivateKey = deviceKey) {
        let secret = cookies ? CookieSecret(secret: [UInt8](repeating: 7, count: 32), origin: Self.origin) : nil
        self.handshake = DTLSHandshake(
            configuration: .init(serverKey: Self.serverKey, cookieSecret: secret),
            clientAddress: Self.address
        )
        var clientGenerator = SplitMix64(seed: 0xC11E)
        self.client = TestClient(
            deviceKey: deviceKey,
            serverPublicKey: Self.serverKey.publicKey,
            offersConnectionID: offersConnectionID,
            generator: &clientGenerator
        )
    }

    static func configuration(cookies: Bool = true) -> DTLSHandshake.Configuration {
        .init(
            serverKey: serverKey,
            cookieSecret: cookies ? CookieSecret(secret: [UInt8](repeating: 7, count: 32), origin: origin) : nil
        )
    }

    /// Feeds a datagram to the server.
    mutating func serve(_ datagram: [UInt8]) -> [DTLSHandshake.Action] {
        self.handshake.receive(datagram[...], at: self.now, using: &self.generator)
    }

    /// Runs the whole handshake; returns the session and every server datagram, in order.
    mutating func complete() throws -> (DTLSSession, [[UInt8]]) {
        var sent: [[UInt8]] = []
        var toServer: [UInt8]? = self.client.clientHello()
        var session: DTLSSession?
        while let datagram = toServer {
            toServer = nil
            for action in self.serve(datagram) {
                switch action {
                case .send(let reply):
                    sent.append(reply)
                    if let answer = try self.client.receive(reply) { toServer = answer }
                case .established(let established):
                    session = established
                case .failed(let error), .ignored(let error):
                    throw TestClient.Failure("server: \(error)")
                case .wakeUp:
                    break
                }
            }
        }
        guard let session, self.client.established else { throw TestClient.Failure("not established") }
        return (session, sent)
    }
}

extension DTLSHandshake.Action {
    var sent: [UInt8]? {
        if case .send(let bytes) = self { return bytes }
        return nil
    }
    var session: DTLSSession? {
        if case .established(let session) = self { return session }
        return nil
    }
    var failure: DTLSError? {
        if case .failed(let error) = self { return error }
        return nil
    }
    var ignored: DTLSError? {
        if case .ignored(let error) = self { return error }
        return nil
    }
    var wakeUp: ContinuousClock.Instant? {
        if case .wakeUp(let instant) = self { return instant }
        return nil
    }
}

extension [DTLSHandshake.Action] {
    var sent: [[UInt8]] { self.compactMap(\.sent) }
    var session: DTLSSession? { self.lazy.compactMap(\.session).first }
    var failure: DTLSError? { self.lazy.compactMap(\.failure).first }
    var ignored: [DTLSError] { self.compactMap(\.ignored) }
    var wakeUp: ContinuousClock.Instant? { self.lazy.compactMap(\.wakeUp).last }
}
