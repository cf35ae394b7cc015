// swift-crypto 3.12.3 does not mark its keys and digests Sendable, though they are
// immutable values (or copy-on-write, for SHA256); the module has no strict concurrency.
@preconcurrency import Crypto

extension DTLSHandshake {
    /// Answers a ClientHello record: refuses it (with an alert), asks for a cookie (stateless),
    /// or starts a negotiation and returns it. Holds no state of its own.
    func acceptClientHello(
        _ record: DTLSRecord,
        at now: ContinuousClock.Instant,
        using generator: inout some RandomNumberGenerator,
        actions: inout [Action]
    ) -> Negotiation? {
        guard record.contentType == .handshake, record.epoch == 0 else {
            actions.append(.ignored(.unexpectedMessage))
            return nil
        }
        let fragments: [HandshakeFragment]
        do throws(DTLSError) {
            fragments = try HandshakeFragment.parseAll(record.fragment)
        } catch {
            actions.append(.ignored(error))
            return nil
        }
        guard let fragment = fragments.first, fragment.type == HandshakeMessage.clientHello,
            fragment.messageSequence <= Self.maximumClientHelloSequence
        else {
            actions.append(.ignored(.unexpectedMessage))
            return nil
        }
        // No state before the cookie round trip means no reassembly either (RFC 6347 §4.2.1
        // lets a server require the ClientHello in one piece; the device's is ~130 bytes).
        guard fragment.isWhole else {
            actions.append(.ignored(.fragmentedClientHello))
            return nil
        }
        let hello: ClientHello
        let negotiation: ClientHello.Negotiation
        do throws(DTLSError) {
            hello = try ClientHello(body: fragment.bytes)
            negotiation = try hello.negotiate()
        } catch {
            let alert = Alert.fatal(ClientHello.alertCode(for: error))
            actions.append(.send(Self.alertRecord(alert, sequenceNumber: record.sequenceNumber)))
            actions.append(.failed(error))
            return nil
        }
        if let secret = self.configuration.cookieSecret,
            !secret.isValid(address: self.clientAddress, hello: hello, at: now)
        {
            // RFC 6347 §4.2.1: message_seq and record sequence number copy the ClientHello's,
            // so the answer needs no state.
            let cookie = secret.cookie(address: self.clientAddress, hello: hello, at: now)
            let message = HandshakeMessage(
                type: HandshakeMessage.helloVerifyRequest,
                messageSequence: fragment.messageSequence,
                body: Self.helloVerifyRequestBody(cookie: cookie)
            )
            var datagram: [UInt8] = []
            DTLSRecord.encode(
                type: .handshake,
                epoch: 0,
                sequenceNumber: record.sequenceNumber,
                fragment: message.encoded,
                into: &datagram
            )
            actions.append(.send(datagram))
            return nil
        }
        do throws(DTLSError) {
            let started = try self.startNegotiation(
                hello: hello,
                helloMessage: HandshakeMessage(
                    type: HandshakeMessage.clientHello,
                    messageSequence: fragment.messageSequence,
                    body: Array(fragment.bytes)
                ),
                negotiation: negotiation,
                recordSequence: record.sequenceNumber,
                at: now,
                using: &generator
            )
            actions.append(.send(started.flight))
            return started
        } catch {
            actions.append(.failed(error))
            return nil
        }
    }

    /// Builds and returns the negotiation with its server flight: ServerHello,
    /// ServerKeyExchange, CertificateRequest, ServerHelloDone, one record each, in one datagram.
    private func startNegotiation(
        hello: ClientHello,
        helloMessage: HandshakeMessage,
        negotiation: ClientHello.Negotiation,
        recordSequence: UInt64,
        at now: ContinuousClock.Instant,
        using generator: inout some RandomNumberGenerator
    ) throws(DTLSError) -> Negotiation {
        let serverRandom = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let connectionID = negotiation.connectionID ? ConnectionID(value: generator.next()) : nil
        let ephemeralKey = Self.ephemeralKey(using: &generator)
        let clientRandom = Array(hello.random)
        // Server message_seq continues from the ClientHello's (mbedTLS copies it), so
        // ServerHello has the ClientHello's and ServerHelloDone that + 3.
        let sequence = helloMessage.messageSequence
        let messages = [
            HandshakeMessage(
                type: HandshakeMessage.serverHello,
                messageSequence: sequence,
                body: Self.serverHelloBody(random: serverRandom, negotiation: negotiation, connectionID: connectionID)
            ),
            HandshakeMessage(
                type: HandshakeMessage.serverKeyExchange,
                messageSequence: sequence + 1,
                body: try Self.serverKeyExchangeBody(
                    ephemeralPublicKey: ephemeralKey.publicKey,
                    clientRandom: clientRandom,
                    serverRandom: serverRandom,
                    serverKey: self.configuration.serverKey
                )
            ),
            HandshakeMessage(
                type: HandshakeMessage.certificateRequest,
                messageSequence: sequence + 2,
                body: Self.certificateRequestBody
            ),
            HandshakeMessage(type: HandshakeMessage.serverHelloDone, messageSequence: sequence + 3, body: []),
        ]
        // The transcript starts at the ClientHello answered: the cookieless one and the
        // HelloVerifyRequest are not part of it (RFC 6347 §4.2.6).
        var transcript = SHA256()
        transcript.update(data: helloMessage.encoded)
        var flight: [UInt8] = []
        // The record sequence numbers continue from the ClientHello's, as mbedTLS's server
        // does (`ssl_parse_client_hello` copies `in_ctr` to `cur_out_ctr`).
        var recordSequence = recordSequence
        for message in messages {
            let encoded = message.encoded
            transcript.update(data: encoded)
            DTLSRecord.encode(
                type: .handshake,
                epoch: 0,
                sequenceNumber: recordSequence,
                fragment: encoded,
                into: &flight
            )
            recordSequence += 1
        }
        let timeout = self.configuration.initialRetransmissionTimeout
        return Negotiation(
            clientRandom: clientRandom,
            serverRandom: serverRandom,
            clientHelloSequence: sequence,
            connectionID: connectionID,
            ephemeralKey: ephemeralKey,
            transcript: transcript,
            flight: flight,
            nextEpoch0Sequence: recordSequence,
            nextMessageSequence: sequence + 1,
            expires: now + self.configuration.handshakeLifetime,
            retransmissionTimeout: timeout,
            nextRetransmission: now + timeout
        )
    }

    /// A P-256 key from the generator's bytes (retrying the rare values outside [1, n-1]).
    private static func ephemeralKey(using generator: inout some RandomNumberGenerator) -> P256.KeyAgreement.PrivateKey
    {
        while true {
            let scalar = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
            if let key = try? P256.KeyAgreement.PrivateKey(rawRepresentation: scalar) {
                return key
            }
        }
    }
}
