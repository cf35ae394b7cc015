@preconcurrency import Crypto
import DTLS

/// A minimal DTLS 1.2 client that behaves as a Particle device does (Device OS with mbedTLS
/// 2.22): the ClientHello bytes of a ≥ 3.1 device (or a pre-3.1 one without the CID
/// extension), cookie exchange, raw-public-key Certificate, ClientKeyExchange,
/// CertificateVerify, ChangeCipherSpec and Finished in one datagram, the Finished as a CID
/// record when a CID was issued. It checks the server's signature against the server key, as the
/// device does with the key from its blob.
///
/// It is a test peer: only what the tests and the benchmark need, with `fatalError`-free
/// failure reporting through ``Failure``.
struct TestClient {
    struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    let deviceKey: P256.Signing.PrivateKey
    let serverPublicKey: P256.Signing.PublicKey
    var offersConnectionID: Bool
    let random: [UInt8]
    let ephemeralKey: P256.KeyAgreement.PrivateKey
    var cookie: [UInt8] = []
    var messageSequence: UInt16 = 0
    var recordSequence: UInt64 = 0
    var transcript = SHA256()
    var serverRandom: [UInt8] = []
    var connectionID: ConnectionID?
    var keys: KeyMaterial?
    var epoch1Sequence: UInt64 = 0
    /// The datagram with the final flight, kept to repeat it.
    var finalFlight: [UInt8] = []
    /// The server's handshake messages as received (type, message_seq, body).
    var serverMessages: [(type: UInt8, sequence: UInt16, body: [UInt8])] = []
    var established = false

    init(
        deviceKey: P256.Signing.PrivateKey,
        serverPublicKey: P256.Signing.PublicKey,
        offersConnectionID: Bool = true,
        generator: inout some RandomNumberGenerator
    ) {
        self.deviceKey = deviceKey
        self.serverPublicKey = serverPublicKey
        self.offersConnectionID = offersConnectionID
        self.random = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        self.ephemeralKey = P256.KeyAgreement.PrivateKey()
    }

    /// The ClientHello body: version, random, empty session ID, cookie, `c0 ae 00 ff`, null
    /// compression and the six (five before 3.1) extensions.
    func clientHelloBody() -> [UInt8] {
        var extensions = hex("000d000a000804030401030303 01 000a000400020017 000b00020100")
        if self.offersConnectionID {
            extensions += hex("00fe000100")
        }
        extensions += hex("0013000201020014000201 02")
        var body = hex("fefd") + self.random + [0x00, UInt8(self.cookie.count)] + self.cookie
        body += hex("0004c0ae00ff 0100")
        body += [UInt8(extensions.count >> 8), UInt8(extensions.count & 0xFF)] + extensions
        return body
    }

    /// The datagram carrying the (next) ClientHello.
    mutating func clientHello() -> [UInt8] {
        let message = self.handshake(type: 1, body: self.clientHelloBody())
        self.transcript = SHA256()
        self.transcript.update(data: message)
        return self.plainRecord(type: 22, message)
    }

    /// Feeds a datagram from the server; returns the datagram to answer with, if any.
    mutating func receive(_ datagram: [UInt8]) throws -> [UInt8]? {
        var remaining = datagram[...]
        var reply: [UInt8]?
        while !remaining.isEmpty {
            let record = try DTLSRecord.parse(from: &remaining)
            switch (record.contentType, record.epoch) {
            case (.handshake, 0):
                for (type, sequence, body, encoded) in try Self.messages(record.fragment) {
                    if type == 3 {  // HelloVerifyRequest
                        self.cookie = Array(body.dropFirst(3))
                        guard body.count == 3 + Int(body[2]) else { throw Failure("bad HelloVerifyRequest") }
                        self.messageSequence = sequence + 1
                        return self.clientHello()
                    }
                    self.serverMessages.append((type, sequence, body))
                    self.transcript.update(data: encoded)
                    if type == 2 { try self.serverHello(body) }
                    if type == 12 { try self.verifyServerKeyExchange(body) }
                    if type == 14 { reply = try self.finalFlightDatagram() }
                }
            case (.changeCipherSpec, 0):
                continue
            case (.handshake, 1):
                guard let keys = self.keys else { throw Failure("no keys") }
                let opened = try keys.serverProtection.open(record)
                guard let (type, _, body, _) = try Self.messages(opened.plaintext[...]).first, type == 20 else {
                    throw Failure("not a Finished")
                }
                let expected = keys.verifyData(for: .server, handshakeHash: self.transcript.finalize())
                guard body == expected else { throw Failure("server Finished mismatch") }
                self.established = true
            case (.alert, _):
                throw Failure("alert \(Array(record.fragment))")
            default:
                throw Failure("unexpected record \(record.contentType)")
            }
        }
        return reply
    }

    private mutating func serverHello(_ body: [UInt8]) throws {
        guard body.count >= 38, body[0] == 0xFE, body[1] == 0xFD else { throw Failure("bad ServerHello") }
        self.serverRandom = Array(body[2..<34])
        let sessionIDLength = Int(body[34])
        var index = 35 + sessionIDLength
        guard body[index] == 0xC0, body[index + 1] == 0xAE, body[index + 2] == 0 else { throw Failure("suite") }
        index += 5
        while index < body.count {
            let type = Int(body[index]) << 8 | Int(body[index + 1])
            let length = Int(body[index + 2]) << 8 | Int(body[index + 3])
            let data = Array(body[(index + 4)..<(index + 4 + length)])
            if type == 254 {
                guard self.offersConnectionID, data.count == 9, data[0] == 8 else { throw Failure("bad CID extension") }
                self.connectionID = ConnectionID(bytes: data[1...])
            }
            if type == 19 || type == 20 {
                guard data == [2] else { throw Failure("certificate type extension is not one byte RPK") }
            }
            index += 4 + length
        }
    }

    private func verifyServerKeyExchange(_ body: [UInt8]) throws {
        guard body.count > 73, body[0...3] == [0x03, 0x00, 0x17, 0x41], body[69] == 0x04, body[70] == 0x03 else {
            throw Failure("bad ServerKeyExchange")
        }
        let signed = self.random + self.serverRandom + Array(body[0..<69])
        let signature = try P256.Signing.ECDSASignature(derRepresentation: body[73...])
        guard self.serverPublicKey.isValidSignature(signature, for: signed) else {
            throw Failure("ServerKeyExchange signature invalid")
        }
    }

    private mutating func finalFlightDatagram() throws -> [UInt8] {
        guard let ske = self.serverMessages.first(where: { $0.type == 12 }) else { throw Failure("no SKE") }
        let serverPoint = try P256.KeyAgreement.PublicKey(x963Representation: ske.body[4..<69])
        let shared = try self.ephemeralKey.sharedSecretFromKeyAgreement(with: serverPoint)
        let keys = try KeyMaterial(
            preMasterSecret: shared.withUnsafeBytes { Array($0) },
            clientRandom: self.random,
            serverRandom: self.serverRandom
        )
        self.keys = keys
        let spki = Array(self.deviceKey.publicKey.derRepresentation)
        let certificate = self.handshake(type: 11, body: [0x00, 0x00, UInt8(spki.count)] + spki)
        let keyExchange = self.handshake(type: 16, body: [0x41] + Array(self.ephemeralKey.publicKey.x963Representation))
        self.transcript.update(data: certificate)
        self.transcript.update(data: keyExchange)
        let signature = Array(try self.deviceKey.signature(for: self.transcript.finalize()).derRepresentation)
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
        datagram += self.plainRecord(type: 22, keyExchange)
        datagram += self.plainRecord(type: 22, verify)
        datagram += self.plainRecord(type: 20, [0x01])
        datagram += try self.protectedRecord(finished, type: .handshake)
        self.finalFlight = datagram
        return datagram
    }

    /// Seals application data (a CoAP message) as the device does.
    mutating func seal(_ plaintext: [UInt8]) throws -> [UInt8] {
        try self.protectedRecord(plaintext, type: .applicationData)
    }

    /// Seals one record with the client keys in epoch 1 (CID record if a CID was issued).
    mutating func protectedRecord(_ plaintext: [UInt8], type: ContentType) throws -> [UInt8] {
        guard let keys = self.keys else { throw Failure("no keys") }
        defer { self.epoch1Sequence += 1 }
        if let connectionID = self.connectionID {
            return try keys.clientProtection.sealConnectionIDRecord(
                plaintext,
                type: type,
                epoch: 1,
                sequenceNumber: self.epoch1Sequence,
                connectionID: connectionID
            )
        }
        return try keys.clientProtection.seal(plaintext, type: type, epoch: 1, sequenceNumber: self.epoch1Sequence)
    }

    /// Opens one server record (application data or alert).
    func open(_ datagram: [UInt8]) throws -> (ContentType, [UInt8]) {
        guard let keys = self.keys else { throw Failure("no keys") }
        var bytes = datagram[...]
        let record = try DTLSRecord.parse(from: &bytes)
        guard bytes.isEmpty, record.connectionID == nil else { throw Failure("not one plain record") }
        let opened = try keys.serverProtection.open(record)
        return (opened.type, opened.plaintext)
    }

    /// A handshake message with its 12-byte header (unfragmented), taking the next message_seq.
    mutating func handshake(type: UInt8, body: [UInt8]) -> [UInt8] {
        let length = [UInt8(body.count >> 16), UInt8((body.count >> 8) & 0xFF), UInt8(body.count & 0xFF)]
        let sequence = self.messageSequence
        self.messageSequence += 1
        return [type] + length + [UInt8(sequence >> 8), UInt8(sequence & 0xFF), 0, 0, 0] + length + body
    }

    /// An epoch-0 record, taking the next record sequence number.
    mutating func plainRecord(type: UInt8, _ fragment: [UInt8]) -> [UInt8] {
        let sequence = self.recordSequence
        self.recordSequence += 1
        var record: [UInt8] = [type, 0xFE, 0xFD, 0, 0]
        record += (0..<6).map { UInt8(truncatingIfNeeded: sequence >> (40 - 8 * UInt64($0))) }
        record += [UInt8(fragment.count >> 8), UInt8(fragment.count & 0xFF)] + fragment
        return record
    }

    /// Splits unfragmented handshake messages: (type, message_seq, body, whole encoding).
    static func messages(_ bytes: ArraySlice<UInt8>) throws -> [(UInt8, UInt16, [UInt8], [UInt8])] {
        var result: [(UInt8, UInt16, [UInt8], [UInt8])] = []
        var index = bytes.startIndex
        while index < bytes.endIndex {
            guard bytes.endIndex - index >= 12 else { throw Failure("short handshake header") }
            let length = Int(bytes[index + 1]) << 16 | Int(bytes[index + 2]) << 8 | Int(bytes[index + 3])
            let sequence = UInt16(bytes[index + 4]) << 8 | UInt16(bytes[index + 5])
            guard bytes.endIndex - index >= 12 + length else { throw Failure("short handshake body") }
            let encoded = Array(bytes[index..<(index + 12 + length)])
            result.append((bytes[index], sequence, Array(encoded[12...]), encoded))
            index += 12 + length
        }
        return result
    }
}
