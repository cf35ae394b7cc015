// swift-crypto 3.12.3 does not mark its keys and digests Sendable, though they are
// immutable values (or copy-on-write, for SHA256); the module has no strict concurrency.
@preconcurrency import Crypto

/// The device side of DTLS as Device OS runs it, for the device simulator: the ClientHello of a
/// Device OS ≥ 3.1 device (raw public keys, the draft connection ID extension), the cookie
/// exchange, a raw-public-key Certificate, ClientKeyExchange, CertificateVerify,
/// ChangeCipherSpec and Finished (as a CID record) in one datagram; then CID records out and
/// plain records in. It checks the server's ServerKeyExchange signature against the server key
/// from the blob, as the device does.
///
/// A session resumes as Device OS resumes it: no handshake, the same keys and counters from a
/// new socket, records marked 253 (``resume()``) until the first record from the server opens.
/// Not hardened against a hostile server beyond failing cleanly: it is a simulator.
public struct DTLSClient: Sendable {
    let deviceKey: P256.Signing.PrivateKey
    let serverPublicKey: P256.Signing.PublicKey
    let random: [UInt8]
    let ephemeralKey: P256.KeyAgreement.PrivateKey
    var cookie: [UInt8] = []
    var messageSequence: UInt16 = 0
    var recordSequence: UInt64 = 0
    var transcript = SHA256()
    var serverRandom: [UInt8] = []
    var serverKeyExchange: [UInt8]?
    var keys: KeyMaterial?
    var epoch1Sequence: UInt64 = 0
    var replayWindow = ReplayWindow()
    /// The message_seq the server's next handshake message must have: a repeated flight (the
    /// server answering a retransmission) is skipped, not hashed twice.
    var nextServerMessageSequence: UInt16 = 0
    /// The connection ID the server issued.
    public private(set) var connectionID: ConnectionID?
    /// Whether the handshake is complete.
    public private(set) var isEstablished = false
    /// Whether records are marked as resumed (type 253) until the server's next record.
    public private(set) var isResuming = false

    /// A client with the device's key and the server's public key (from its key blob).
    public init(deviceKey: P256.Signing.PrivateKey, serverPublicKey: P256.Signing.PublicKey) {
        self.deviceKey = deviceKey
        self.serverPublicKey = serverPublicKey
        var generator = SystemRandomNumberGenerator()
        self.random = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        self.ephemeralKey = P256.KeyAgreement.PrivateKey()
    }

    /// The datagram with the (next) ClientHello.
    public mutating func clientHello() -> [UInt8] {
        var extensions: [UInt8] = [0x00, 0x0d, 0x00, 0x0a, 0x00, 0x08, 0x04, 0x03, 0x04, 0x01, 0x03, 0x03, 0x03, 0x01]
        extensions += [0x00, 0x0a, 0x00, 0x04, 0x00, 0x02, 0x00, 0x17, 0x00, 0x0b, 0x00, 0x02, 0x01, 0x00]
        extensions += [0x00, 0xfe, 0x00, 0x01, 0x00]
        extensions += [0x00, 0x13, 0x00, 0x02, 0x01, 0x02, 0x00, 0x14, 0x00, 0x02, 0x01, 0x02]
        var body: [UInt8] = [0xfe, 0xfd] + self.random + [0x00, UInt8(self.cookie.count)] + self.cookie
        body += [0x00, 0x04, 0xc0, 0xae, 0x00, 0xff, 0x01, 0x00]
        body += [UInt8(extensions.count >> 8), UInt8(extensions.count & 0xFF)] + extensions
        let message = self.handshake(type: 1, body: body)
        self.transcript = SHA256()
        self.transcript.update(data: message)
        return self.plainRecord(type: 22, message)
    }

    /// Feeds a handshake datagram from the server; returns the datagram to answer with, if any.
    ///
    /// - Throws: ``DTLSError`` when the server's flight does not parse or verify, or it sent
    ///   an alert.
    public mutating func receive(_ datagram: [UInt8]) throws(DTLSError) -> [UInt8]? {
        let before = self
        do throws(DTLSError) {
            return try self.process(datagram)
        } catch  where error == .badKeyExchange {
            // A server flight that answers another ClientHello (one of an earlier attempt from
            // this address, arriving late or retransmitted): its ServerKeyExchange is signed
            // over another client random. Ignored, as a device's stack drops a flight that does
            // not verify; the flight that answers this ClientHello follows. Seen once in CI,
            // with the whole suite on 2 cores.
            self = before
            return nil
        }
    }

    private mutating func process(_ datagram: [UInt8]) throws(DTLSError) -> [UInt8]? {
        var remaining = datagram[...]
        var reply: [UInt8]?
        while !remaining.isEmpty {
            let record = try DTLSRecord.parse(from: &remaining)
            switch (record.contentType, record.epoch) {
            case (.handshake, 0):
                for fragment in try HandshakeFragment.parseAll(record.fragment) {
                    guard fragment.isWhole else { throw .malformedHandshake }
                    let body = Array(fragment.bytes)
                    guard fragment.messageSequence >= self.nextServerMessageSequence else { continue }
                    self.nextServerMessageSequence = fragment.messageSequence + 1
                    if fragment.type == 3 {  // HelloVerifyRequest
                        guard body.count >= 3, body.count == 3 + Int(body[2]) else { throw .malformedHandshake }
                        self.cookie = Array(body.dropFirst(3))
                        self.messageSequence = fragment.messageSequence + 1
                        return self.clientHello()
                    }
                    self.transcript.update(
                        data: Self.encoded(type: fragment.type, sequence: fragment.messageSequence, body)
                    )
                    switch fragment.type {
                    case 2: try self.serverHello(body)
                    case 12: try self.verifyServerKeyExchange(body)
                    case 14: reply = try self.finalFlight()
                    default: break
                    }
                }
            case (.changeCipherSpec, 0):
                continue
            case (.handshake, 1):
                guard let keys = self.keys else { throw .unexpectedMessage }
                let opened = try keys.serverProtection.open(record)
                let expected = keys.verifyData(for: .server, handshakeHash: self.transcript.finalize())
                guard let finished = try HandshakeFragment.parseAll(opened.plaintext[...]).first,
                    finished.type == 20, Array(finished.bytes) == expected
                else { throw .badFinished }
                self.isEstablished = true
            case (.alert, _):
                throw .unexpectedMessage
            default:
                throw .unexpectedMessage
            }
        }
        return reply
    }

    /// Seals one CoAP message as a CID record (type 253 while resuming).
    public mutating func seal(_ plaintext: [UInt8]) throws(DTLSError) -> [UInt8] {
        guard let keys = self.keys, let connectionID = self.connectionID else { throw .unexpectedMessage }
        var record = try keys.clientProtection.sealConnectionIDRecord(
            plaintext,
            type: .applicationData,
            epoch: 1,
            sequenceNumber: self.epoch1Sequence,
            connectionID: connectionID
        )
        self.epoch1Sequence += 1
        if self.isResuming { record[0] = 253 }
        return record
    }

    /// Opens the server's records in a datagram: the application data (CoAP messages) of those
    /// that authenticate and are not replays, and whether the server ended the session with an
    /// alert (close_notify).
    public mutating func open(_ datagram: [UInt8]) -> (messages: [[UInt8]], closed: Bool) {
        guard let keys = self.keys else { return ([], false) }
        var remaining = datagram[...]
        var messages: [[UInt8]] = []
        while !remaining.isEmpty {
            guard let record = try? DTLSRecord.parse(from: &remaining) else { break }
            guard record.epoch == 1, record.connectionID == nil, self.replayWindow.accepts(record.sequenceNumber),
                let opened = try? keys.serverProtection.open(record)
            else { continue }
            _ = self.replayWindow.record(record.sequenceNumber)
            self.isResuming = false
            switch opened.type {
            case .applicationData: messages.append(opened.plaintext)
            case .alert: return (messages, true)
            default: continue
            }
        }
        return (messages, false)
    }

    /// Resumes the session from a new socket, as Device OS does after sleep: no handshake,
    /// records marked 253 until the server answers.
    public mutating func resume() {
        self.isResuming = true
    }

    private mutating func serverHello(_ body: [UInt8]) throws(DTLSError) {
        var reader = ByteReader(body[...], error: .malformedHandshake)
        guard try reader.readUInt16() == 0xFEFD else { throw .malformedHandshake }
        self.serverRandom = Array(try reader.readBytes(32))
        _ = try reader.readVector8()
        guard try reader.readUInt16() == 0xC0AE, try reader.readUInt8() == 0 else { throw .malformedHandshake }
        var extensions = ByteReader(try reader.readVector16(), error: .malformedHandshake)
        while !extensions.isAtEnd {
            let type = try extensions.readUInt16()
            let data = Array(try extensions.readVector16())
            if type == 254 {
                guard data.count == 9, data[0] == 8 else { throw .malformedHandshake }
                self.connectionID = ConnectionID(bytes: data[1...])
            }
        }
    }

    private mutating func verifyServerKeyExchange(_ body: [UInt8]) throws(DTLSError) {
        guard body.count > 73, body[0...3] == [0x03, 0x00, 0x17, 0x41], body[69] == 0x04, body[70] == 0x03,
            let signature = try? P256.Signing.ECDSASignature(derRepresentation: body[73...]),
            self.serverPublicKey.isValidSignature(signature, for: self.random + self.serverRandom + Array(body[0..<69]))
        else { throw .badKeyExchange }
        self.serverKeyExchange = body
    }

    private mutating func finalFlight() throws(DTLSError) -> [UInt8] {
        guard let ske = self.serverKeyExchange, self.connectionID != nil,
            let serverPoint = try? P256.KeyAgreement.PublicKey(x963Representation: ske[4..<69]),
            let shared = try? self.ephemeralKey.sharedSecretFromKeyAgreement(with: serverPoint)
        else { throw .badKeyExchange }
        let keys = try KeyMaterial(
            preMasterSecret: shared.withUnsafeBytes { Array($0) },
            clientRandom: self.random,
            serverRandom: self.serverRandom
        )
        self.keys = keys
        let spki = Array(self.deviceKey.publicKey.derRepresentation)
        let certificate = self.handshake(type: 11, body: [0x00, 0x00, UInt8(spki.count)] + spki)
        let exchange = self.handshake(type: 16, body: [0x41] + Array(self.ephemeralKey.publicKey.x963Representation))
        self.transcript.update(data: certificate)
        self.transcript.update(data: exchange)
        guard let signed = try? self.deviceKey.signature(for: self.transcript.finalize()) else {
            throw .badCertificateVerify
        }
        let signature = Array(signed.derRepresentation)
        let verify = self.handshake(
            type: 15,
            body: [0x04, 0x03, UInt8(signature.count >> 8), UInt8(signature.count & 0xFF)] + signature
        )
        self.transcript.update(data: verify)
        let finished = self.handshake(
            type: 20,
            body: keys.verifyData(for: .client, handshakeHash: self.transcript.finalize())
        )
        self.transcript.update(data: finished)
        var datagram = self.plainRecord(type: 22, certificate)
        datagram += self.plainRecord(type: 22, exchange)
        datagram += self.plainRecord(type: 22, verify)
        datagram += self.plainRecord(type: 20, [0x01])
        guard let connectionID = self.connectionID else { throw .badKeyExchange }
        datagram += try keys.clientProtection.sealConnectionIDRecord(
            finished,
            type: .handshake,
            epoch: 1,
            sequenceNumber: self.epoch1Sequence,
            connectionID: connectionID
        )
        self.epoch1Sequence += 1
        return datagram
    }

    private mutating func handshake(type: UInt8, body: [UInt8]) -> [UInt8] {
        defer { self.messageSequence += 1 }
        return Self.encoded(type: type, sequence: self.messageSequence, body)
    }

    private static func encoded(type: UInt8, sequence: UInt16, _ body: [UInt8]) -> [UInt8] {
        let length = [UInt8(body.count >> 16), UInt8((body.count >> 8) & 0xFF), UInt8(body.count & 0xFF)]
        return [type] + length + [UInt8(sequence >> 8), UInt8(sequence & 0xFF), 0, 0, 0] + length + body
    }

    private mutating func plainRecord(type: UInt8, _ fragment: [UInt8]) -> [UInt8] {
        defer { self.recordSequence += 1 }
        var record: [UInt8] = [type, 0xFE, 0xFD, 0, 0]
        record += (0..<6).map { UInt8(truncatingIfNeeded: self.recordSequence >> (40 - 8 * UInt64($0))) }
        record += [UInt8(fragment.count >> 8), UInt8(fragment.count & 0xFF)] + fragment
        return record
    }
}
