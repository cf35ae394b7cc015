// swift-crypto 3.12.3 does not mark its keys and digests Sendable, though they are
// immutable values (or copy-on-write, for SHA256); the module has no strict concurrency.
@preconcurrency import Crypto

extension DTLSHandshake {
    /// Handles one record while the server flight is out. Returns the next state, or `nil` to
    /// keep negotiating with the (mutated) negotiation.
    mutating func receive(
        _ record: DTLSRecord,
        negotiating negotiation: inout Negotiation,
        at now: ContinuousClock.Instant,
        using generator: inout some RandomNumberGenerator,
        actions: inout [Action],
        resent: inout Bool
    ) -> State? {
        switch (record.contentType, record.epoch) {
        case (.handshake, 0):
            let fragments: [HandshakeFragment]
            do throws(DTLSError) {
                fragments = try HandshakeFragment.parseAll(record.fragment)
            } catch {
                actions.append(.ignored(error))
                return nil
            }
            for fragment in fragments {
                if fragment.type == HandshakeMessage.clientHello {
                    if fragment.messageSequence == negotiation.clientHelloSequence,
                        Self.random(of: fragment) == negotiation.clientRandom
                    {
                        // The client repeated its ClientHello: the server flight was lost.
                        if !resent {
                            actions.append(.send(negotiation.flight))
                            resent = true
                        }
                        continue
                    }
                    // A different ClientHello: a new attempt (the device restarted). It replaces
                    // this one only once its cookie is valid.
                    if let fresh = self.acceptClientHello(record, at: now, using: &generator, actions: &actions) {
                        return .negotiating(fresh)
                    }
                    return nil
                }
                guard fragment.messageSequence >= negotiation.nextMessageSequence else {
                    actions.append(.ignored(.duplicateMessage))
                    continue
                }
                guard
                    fragment.messageSequence - negotiation.nextMessageSequence
                        < HandshakeReassembler.maximumPendingMessages
                else {
                    actions.append(.ignored(.unexpectedMessage))
                    continue
                }
                do throws(DTLSError) {
                    try negotiation.reassembler.insert(fragment)
                } catch {
                    actions.append(.ignored(error))
                    continue
                }
                if let (error, alert) = Self.processMessages(&negotiation) {
                    return self.fail(error, alert: alert, negotiation: negotiation, actions: &actions)
                }
            }
            return nil
        case (.changeCipherSpec, 0):
            guard record.fragment.elementsEqual([1]) else {
                actions.append(.ignored(.malformedHandshake))
                return nil
            }
            // Before CertificateVerify was processed (reordered or partial flight) it cannot be
            // used; the client repeats its whole flight.
            guard negotiation.certificateVerified else {
                actions.append(.ignored(.unexpectedMessage))
                return nil
            }
            negotiation.changeCipherSpecReceived = true
            return nil
        case (.alert, 0):
            guard let alert = try? Alert(bytes: record.fragment) else {
                actions.append(.ignored(.malformedAlert))
                return nil
            }
            guard alert.isFatal || alert.isCloseNotify else {
                actions.append(.ignored(.unexpectedMessage))
                return nil
            }
            actions.append(.failed(.peerAlert(alert.code)))
            return .idle
        case (.connectionID, 1), (.handshake, 1):
            return self.receiveFinished(record, negotiation: &negotiation, at: now, actions: &actions)
        default:
            actions.append(.ignored(record.epoch > 1 ? .unexpectedEpoch : .unexpectedMessage))
            return nil
        }
    }

    /// Handles one record after completion: a repeat of the client's final flight gets the
    /// server's ChangeCipherSpec + Finished again (once per datagram); a new ClientHello may
    /// start a new handshake.
    mutating func receive(
        _ record: DTLSRecord,
        completed completion: Completion,
        at now: ContinuousClock.Instant,
        using generator: inout some RandomNumberGenerator,
        actions: inout [Action],
        resent: inout Bool
    ) -> State? {
        var repeatsFinalFlight = false
        switch (record.contentType, record.epoch) {
        case (.handshake, 0):
            guard let fragments = try? HandshakeFragment.parseAll(record.fragment) else {
                actions.append(.ignored(.malformedHandshake))
                return nil
            }
            for fragment in fragments {
                if fragment.type == HandshakeMessage.clientHello {
                    if fragment.messageSequence == completion.clientHelloSequence,
                        Self.random(of: fragment) == completion.clientRandom
                    {
                        actions.append(.ignored(.duplicateMessage))
                        return nil
                    }
                    if let fresh = self.acceptClientHello(record, at: now, using: &generator, actions: &actions) {
                        return .negotiating(fresh)
                    }
                    return nil
                }
                let offset = Int(fragment.messageSequence) - Int(completion.clientHelloSequence)
                if (1...4).contains(offset) {
                    repeatsFinalFlight = true
                }
            }
        case (.changeCipherSpec, 0), (.connectionID, 1), (.handshake, 1):
            repeatsFinalFlight = true
        default:
            break
        }
        guard repeatsFinalFlight else {
            actions.append(.ignored(.unexpectedMessage))
            return nil
        }
        if !resent {
            actions.append(.send(completion.flight))
            resent = true
        }
        return nil
    }

    /// Processes the client's messages that are complete, in message_seq order: Certificate,
    /// ClientKeyExchange, CertificateVerify. Returns the failure and the alert to send, if any.
    private static func processMessages(_ negotiation: inout Negotiation) -> (DTLSError, UInt8)? {
        while let message = negotiation.reassembler.takeMessage(sequence: negotiation.nextMessageSequence) {
            let step = Int(message.messageSequence) - Int(negotiation.clientHelloSequence)
            do throws(DTLSError) {
                switch (step, message.type) {
                case (1, HandshakeMessage.certificate):
                    negotiation.clientKey = try Self.parseCertificate(message.body)
                    negotiation.transcript.update(data: message.encoded)
                case (2, HandshakeMessage.clientKeyExchange):
                    negotiation.keys = try Self.keyExchange(message.body, negotiation: negotiation)
                    negotiation.transcript.update(data: message.encoded)
                case (3, HandshakeMessage.certificateVerify):
                    // Signed: SHA-256 of every handshake message so far, up to and including
                    // ClientKeyExchange (mbedTLS `ssl_write_certificate_verify`).
                    let digest = negotiation.transcript.finalize()
                    try Self.verifyCertificateVerify(message.body, digest: digest, key: negotiation.clientKey!)
                    negotiation.transcript.update(data: message.encoded)
                    negotiation.certificateVerified = true
                default:
                    // Anything else here (a Finished in epoch 0, a second Certificate, …).
                    return (.unexpectedMessage, Alert.unexpectedMessageCode)
                }
            } catch {
                let alert: UInt8 =
                    switch error {
                    case .badCertificate: Alert.badCertificateCode
                    case .badKeyExchange: Alert.illegalParameterCode
                    case .badCertificateVerify: Alert.decryptErrorCode
                    default: Alert.decodeErrorCode
                    }
                return (error, alert)
            }
            negotiation.nextMessageSequence += 1
        }
        return nil
    }

    /// Certificate with a raw public key (RFC 7250 §3): `opaque ASN.1_subjectPublicKeyInfo
    /// <1..2^24-1>`; Device OS sends `00 00 5b` and the 91-byte P-256 SPKI.
    private static func parseCertificate(_ body: [UInt8]) throws(DTLSError) -> P256.Signing.PublicKey {
        var reader = ByteReader(body[...], error: .badCertificate)
        let spki = try reader.readVector24()
        try reader.expectEnd()
        guard !spki.isEmpty, let key = try? P256.Signing.PublicKey(derRepresentation: spki) else {
            throw .badCertificate
        }
        return key
    }

    /// ClientKeyExchange: `41 04 X Y`, the device's ephemeral point. The pre-master secret is
    /// the ECDH x-coordinate (RFC 8422 §5.10).
    private static func keyExchange(_ body: [UInt8], negotiation: Negotiation) throws(DTLSError) -> KeyMaterial {
        var reader = ByteReader(body[...], error: .badKeyExchange)
        let point = try reader.readVector8()
        try reader.expectEnd()
        guard point.count == 65, point.first == 0x04,
            let peer = try? P256.KeyAgreement.PublicKey(x963Representation: point),
            let shared = try? negotiation.ephemeralKey.sharedSecretFromKeyAgreement(with: peer)
        else { throw .badKeyExchange }
        let preMasterSecret = shared.withUnsafeBytes { Array($0) }
        return try KeyMaterial(
            preMasterSecret: preMasterSecret,
            clientRandom: negotiation.clientRandom,
            serverRandom: negotiation.serverRandom
        )
    }

    /// CertificateVerify: `04 03 <len:2> <DER ECDSA-Sig-Value>`.
    private static func verifyCertificateVerify(
        _ body: [UInt8],
        digest: SHA256.Digest,
        key: P256.Signing.PublicKey
    ) throws(DTLSError) {
        var reader = ByteReader(body[...], error: .badCertificateVerify)
        guard try reader.readUInt16() == 0x0403 else { throw .badCertificateVerify }
        let der = try reader.readVector16()
        try reader.expectEnd()
        guard let signature = try? P256.Signing.ECDSASignature(derRepresentation: der),
            key.isValidSignature(signature, for: digest)
        else { throw .badCertificateVerify }
    }

    /// The client's Finished (epoch 1; a CID record when a CID was negotiated): verifies it and,
    /// if right, sends the server's ChangeCipherSpec + Finished and completes.
    private mutating func receiveFinished(
        _ record: DTLSRecord,
        negotiation: inout Negotiation,
        at now: ContinuousClock.Instant,
        actions: inout [Action]
    ) -> State? {
        guard negotiation.changeCipherSpecReceived, let keys = negotiation.keys, let clientKey = negotiation.clientKey
        else {
            // Before its ChangeCipherSpec: reordered; the client will repeat its flight.
            actions.append(.ignored(.unexpectedEpoch))
            return nil
        }
        // mbedTLS puts the peer's CID on every record from the Finished on.
        let expectedType: ContentType = negotiation.connectionID == nil ? .handshake : .connectionID
        guard record.contentType == expectedType, record.connectionID == negotiation.connectionID else {
            actions.append(.ignored(.connectionIDMismatch))
            return nil
        }
        let opened: (type: ContentType, plaintext: [UInt8])
        do throws(DTLSError) {
            opened = try keys.clientProtection.open(record)
        } catch {
            actions.append(.ignored(error))
            return nil
        }
        guard opened.type == .handshake,
            let fragments = try? HandshakeFragment.parseAll(opened.plaintext[...]),
            fragments.count == 1, let fragment = fragments.first,
            fragment.type == HandshakeMessage.finished, fragment.isWhole,
            fragment.messageSequence == negotiation.nextMessageSequence
        else {
            return self.fail(
                .unexpectedMessage,
                alert: Alert.unexpectedMessageCode,
                negotiation: negotiation,
                actions: &actions
            )
        }
        let expected = keys.verifyData(for: .client, handshakeHash: negotiation.transcript.finalize())
        guard constantTimeEquals(expected, fragment.bytes) else {
            return self.fail(.badFinished, alert: Alert.decryptErrorCode, negotiation: negotiation, actions: &actions)
        }
        let clientFinished = HandshakeMessage(
            type: HandshakeMessage.finished,
            messageSequence: fragment.messageSequence,
            body: Array(fragment.bytes)
        )
        negotiation.transcript.update(data: clientFinished.encoded)
        let serverFinished = HandshakeMessage(
            type: HandshakeMessage.finished,
            messageSequence: negotiation.clientHelloSequence + 4,
            body: keys.verifyData(for: .server, handshakeHash: negotiation.transcript.finalize())
        )
        // ChangeCipherSpec (epoch 0) and Finished (epoch 1, sequence 0, a plain type-22 record:
        // the device's own CID is empty, so nothing sent to it carries one).
        var flight: [UInt8] = []
        DTLSRecord.encode(
            type: .changeCipherSpec,
            epoch: 0,
            sequenceNumber: negotiation.nextEpoch0Sequence,
            fragment: [1],
            into: &flight
        )
        do throws(DTLSError) {
            flight += try keys.serverProtection.seal(
                serverFinished.encoded,
                type: .handshake,
                epoch: 1,
                sequenceNumber: 0
            )
        } catch {
            actions.append(.failed(error))
            return .idle
        }
        var window = ReplayWindow()
        window.record(record.sequenceNumber)
        let session = DTLSSession(
            keyMaterial: keys,
            connectionID: negotiation.connectionID,
            peerPublicKey: clientKey,
            nextSequenceNumber: 1,
            replayWindow: window,
            finalFlight: flight
        )
        actions.append(.send(flight))
        actions.append(.established(session))
        return .completed(
            Completion(
                clientRandom: negotiation.clientRandom,
                clientHelloSequence: negotiation.clientHelloSequence,
                flight: flight,
                expires: now + self.configuration.completionLinger
            )
        )
    }

    /// Sends a fatal alert (plaintext, epoch 0: the client reads epoch 0 until the server's
    /// ChangeCipherSpec) and ends the attempt.
    private func fail(_ error: DTLSError, alert: UInt8, negotiation: Negotiation, actions: inout [Action]) -> State {
        actions.append(.send(Self.alertRecord(.fatal(alert), sequenceNumber: negotiation.nextEpoch0Sequence)))
        actions.append(.failed(error))
        return .idle
    }

    /// The 32-byte random of a ClientHello fragment (after the 2-byte version), if present.
    static func random(of fragment: HandshakeFragment) -> [UInt8]? {
        guard fragment.fragmentOffset == 0, fragment.bytes.count >= 34 else { return nil }
        return Array(fragment.bytes.dropFirst(2).prefix(32))
    }
}
