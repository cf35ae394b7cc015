@preconcurrency import Crypto
import DTLS
import Testing

/// The server handshake against the test client, message by message.
@Suite struct HandshakeTests {
    /// The ClientHello of a Device OS ≥ 3.1 device: 91 bytes without cookie, 45 bytes of
    /// extensions.
    @Test func theTestClientSendsTheDeviceClientHello() {
        let harness = HandshakeHarness()
        let body = harness.client.clientHelloBody()
        #expect(body.count == 91)
        #expect(
            hexString(body.dropFirst(34))
                == "0000" + "0004c0ae00ff" + "0100" + "002d" + "000d000a0008040304010303" + "0301"
                + "000a000400020017" + "000b00020100" + "00fe000100" + "001300020102" + "001400020102"
        )
        #expect(HandshakeHarness(offersConnectionID: false).client.clientHelloBody().count == 86)
    }

    @Test func helloVerifyRequestIsStatelessAndCopiesTheSequenceNumbers() throws {
        var harness = HandshakeHarness()
        let hello = harness.client.clientHello()
        let actions = harness.serve(hello)
        #expect(harness.handshake.isIdle)
        #expect(harness.handshake.deadline == nil)
        let reply = try #require(actions.sent.first)
        #expect(actions.count == 1)
        // 16 fefd epoch 0, record seq 0 (the ClientHello's), HVR message_seq 0, fe ff, 32-byte cookie.
        #expect(hexString(reply.prefix(13)) == "16fefd000000000000000000" + "2f")
        #expect(hexString(reply[13..<28]) == "030000230000000000000023feff20")
        #expect(reply.count == 13 + 12 + 35)
        // The same hello gets the same cookie (no state, only the secret and the slot).
        var other = DTLSHandshake(
            configuration: HandshakeHarness.configuration(),
            clientAddress: HandshakeHarness.address
        )
        #expect(other.receive(hello[...], at: harness.now).sent.first == reply)
        // Another address gets another cookie.
        var elsewhere = DTLSHandshake(
            configuration: HandshakeHarness.configuration(),
            clientAddress: [10, 0, 0, 1, 0, 1]
        )
        #expect(elsewhere.receive(hello[...], at: harness.now).sent.first != reply)
    }

    @Test func fullHandshakeWithConnectionID() throws {
        var harness = HandshakeHarness()
        let (session, sent) = try harness.complete()
        #expect(sent.count == 3)  // HVR, server flight, CCS + Finished

        // Server flight: message_seq 1…4 after the cookie exchange, records continuing from the
        // second ClientHello's sequence number (1).
        let messages = harness.client.serverMessages
        #expect(messages.map(\.type) == [2, 12, 13, 14])
        #expect(messages.map(\.sequence) == [1, 2, 3, 4])
        var flight = sent[1][...]
        var recordSequences: [UInt64] = []
        while !flight.isEmpty { recordSequences.append(try DTLSRecord.parse(from: &flight).sequenceNumber) }
        #expect(recordSequences == [1, 2, 3, 4])

        // ServerHello: fe fd, random, empty session ID, c0ae, null, then exactly the extensions.
        let cid = try #require(session.connectionID)
        let serverHello = messages[0].body
        #expect(
            hexString(serverHello)
                == "fefd" + hexString(harness.client.serverRandom) + "00c0ae00" + "0022" + "ff01000100"
                + "000b00020100" + "00fe000908" + cid.description + "0013000102" + "0014000102"
        )
        // No Certificate message; CertificateRequest in its minimal form; empty ServerHelloDone.
        #expect(hexString(messages[2].body) == "0140000204030000")
        #expect(messages[3].body.isEmpty)
        #expect(hexString(messages[1].body.prefix(5)) == "0300174104")

        // CCS (epoch 0, record seq 5) + Finished (epoch 1, seq 0, plain type 22, 12 + 12 bytes).
        let final = sent[2]
        #expect(hexString(final.prefix(14)) == "14fefd0000000000000005000101")
        #expect(hexString(final[14..<27]) == "16fefd000100000000000000" + "28")
        #expect(final.count == 14 + 13 + 40)

        #expect(session.peerPublicKeyDER == Array(HandshakeHarness.deviceKey.publicKey.derRepresentation))
        #expect(
            hexString(session.peerPublicKeyDER.prefix(26)) == "3059301306072a8648ce3d020106082a8648ce3d030107034200"
        )
        #expect(session.peerPublicKeyDER.count == 91)
        #expect(session.nextSequenceNumber == 1)
        #expect(session.replayWindow.top == 0)  // the Finished, epoch 1 seq 0
        #expect(harness.handshake.isIdle == false)
        #expect(harness.handshake.deadline == harness.now + .seconds(60))
    }

    @Test func applicationDataBothWays() throws {
        var harness = HandshakeHarness()
        var (session, _) = try harness.complete()
        let record = try harness.client.seal(hex("40001234"))
        #expect(record.first == 0x19)
        let inbound = session.open(record[...])
        guard case .applicationData(let plaintext, let info) = inbound.first else {
            Issue.record("expected application data, got \(inbound)")
            return
        }
        #expect(plaintext == hex("40001234"))
        #expect(info.sequenceNumber == 1 && info.isNewest && info.marker == .connectionID && info.updatesPeerAddress)
        let reply = try session.seal(hex("60001234"))
        #expect(reply.count == 33)
        #expect(hexString(reply.prefix(11)) == "17fefd0001000000000001")
        let (type, opened) = try harness.client.open(reply)
        #expect(type == .applicationData && opened == hex("60001234"))
        #expect(session.nextSequenceNumber == 2)
    }

    /// A device before Device OS 3.1 offers no CID: none is issued, its Finished is a plain
    /// epoch-1 record, and its records carry no CID.
    @Test func handshakeWithoutConnectionID() throws {
        var harness = HandshakeHarness(offersConnectionID: false)
        var (session, _) = try harness.complete()
        #expect(session.connectionID == nil)
        #expect(harness.client.connectionID == nil)
        let serverHello = harness.client.serverMessages[0].body
        #expect(!hexString(serverHello).contains("00fe0009"))
        let record = try harness.client.seal([0x40, 0x00, 0x00, 0x01])
        #expect(record.first == 0x17)
        guard case .applicationData(let plaintext, _) = session.open(record[...]).first else {
            Issue.record("expected application data")
            return
        }
        #expect(plaintext == [0x40, 0x00, 0x00, 0x01])
        // Resumed (254 + device ID trailer): routed by device ID, authenticated as 23.
        let resumed = try harness.client.seal([0x40, 0x00, 0x00, 0x02])
        let datagram = [0xFE] + resumed.dropFirst() + hex("e00fce68ece1d3d21a73dcc9") + [0x0C]
        guard case .legacyResumption(_, let records) = DatagramRoute(datagram: datagram[...]),
            case .applicationData(let second, let info) = session.open(records).first
        else {
            Issue.record("legacy resumption not opened")
            return
        }
        #expect(second == [0x40, 0x00, 0x00, 0x02] && info.marker == .legacyResumption && info.updatesPeerAddress)
    }

    @Test func handshakeWithoutCookies() throws {
        var harness = HandshakeHarness(cookies: false)
        let (session, sent) = try harness.complete()
        #expect(sent.count == 2)
        #expect(harness.client.serverMessages.map(\.sequence) == [0, 1, 2, 3])
        #expect(session.connectionID != nil)
    }

    /// The server flight is lost: the retransmission timer resends it at 1, 3, 7, 15 … s
    /// (doubling from 1 s), a repeated ClientHello gets it at once, and after 60 s the
    /// half-open handshake ends.
    @Test func serverFlightRetransmissionAndExpiry() throws {
        var harness = HandshakeHarness()
        let verifyRequest = harness.serve(harness.client.clientHello()).sent[0]
        let hello = try #require(try harness.client.receive(verifyRequest))
        let first = harness.serve(hello)
        let flight = first.sent[0]
        #expect(first.wakeUp == harness.now + .seconds(1))
        #expect(harness.handshake.pendingConnectionID != nil)

        // The client repeats its ClientHello: the same flight, byte for byte.
        #expect(harness.serve(hello).sent == [flight])

        var expected: [Duration] = []
        var times: [Duration] = []
        var elapsed = Duration.seconds(1)
        var step = Duration.seconds(1)
        while elapsed < .seconds(60) {
            expected.append(elapsed)
            step *= 2
            elapsed += step
        }
        while let deadline = harness.handshake.deadline {
            harness.now = deadline
            let actions = harness.handshake.timerFired(at: deadline)
            if let failure = actions.failure {
                #expect(failure == .handshakeTimeout)
                #expect(deadline - HandshakeHarness.origin == .seconds(60))
                break
            }
            #expect(actions.sent == [flight])
            times.append(deadline - HandshakeHarness.origin)
        }
        #expect(times == expected)
        #expect(harness.handshake.isIdle)
    }

    /// The server's CCS + Finished is lost: the client repeats its final flight and gets them
    /// again, from the lingering handshake (whole flight) or from the session (Finished alone,
    /// routed by CID).
    @Test func repeatedFinalFlightGetsTheSameAnswer() throws {
        var harness = HandshakeHarness()
        var (session, sent) = try harness.complete()
        let answer = sent[2]
        #expect(harness.serve(harness.client.finalFlight).sent == [answer])

        // The Finished alone, as the device's retransmission re-encrypts it with a new sequence
        // number.
        var device = harness.client
        let finished = hex("14 00000c 0005 000000 00000c") + [UInt8](repeating: 0, count: 12)
        let resent = try device.protectedRecord(finished, type: .handshake)
        let inbound = session.open(resent[...])
        guard case .reply(let bytes, _) = inbound.first else {
            Issue.record("expected the final flight again, got \(inbound)")
            return
        }
        #expect(bytes == answer)
        // Once application data arrived, the device evidently has the server's Finished.
        _ = session.open(try device.seal([0x40, 0, 0, 1])[...])
        let again = try device.protectedRecord(finished, type: .handshake)
        guard case .dropped(.unexpectedMessage) = session.open(again[...]).first else {
            Issue.record("expected a drop")
            return
        }
        // After the linger time the handshake is idle.
        harness.now += .seconds(60)
        _ = harness.handshake.timerFired(at: harness.now)
        #expect(harness.handshake.isIdle)
    }

    /// The client signs its CertificateVerify with a key other than the one in its Certificate.
    @Test func wrongCertificateVerifyFails() throws {
        var harness = HandshakeHarness()
        let verifyRequest = harness.serve(harness.client.clientHello()).sent[0]
        let flight = harness.serve(try #require(try harness.client.receive(verifyRequest))).sent[0]
        var final = try #require(try harness.client.receive(flight))
        // Replace the signature inside CertificateVerify by one from another key.
        let other = P256.Signing.PrivateKey()
        let forged = Array(try other.signature(for: [1, 2, 3]).derRepresentation)
        final = Self.replaceCertificateVerify(in: final, with: forged)
        let actions = harness.serve(final)
        #expect(actions.failure == .badCertificateVerify)
        // decrypt_error (51), plaintext epoch 0.
        #expect(actions.sent.first.map { hexString($0.suffix(2)) } == "0233")
        #expect(harness.handshake.isIdle)
    }

    @Test func wrongFinishedFails() throws {
        var harness = HandshakeHarness()
        let verifyRequest = harness.serve(harness.client.clientHello()).sent[0]
        let flight = harness.serve(try #require(try harness.client.receive(verifyRequest))).sent[0]
        var final = try #require(try harness.client.receive(flight))
        // Re-seal the Finished with wrong verify_data.
        var records: [[UInt8]] = []
        var bytes = final[...]
        while !bytes.isEmpty {
            let before = bytes
            _ = try DTLSRecord.parse(from: &bytes)
            records.append(Array(before.prefix(before.count - bytes.count)))
        }
        harness.client.epoch1Sequence = 0
        records[4] = try harness.client.protectedRecord(
            hex("14 00000c 0005 000000 00000c") + [UInt8](repeating: 0xEE, count: 12),
            type: .handshake
        )
        final = records.flatMap { $0 }
        let actions = harness.serve(final)
        #expect(actions.failure == .badFinished)
        #expect(actions.sent.first.map { hexString($0.suffix(2)) } == "0233")
    }

    @Test func refusedClientHellosGetAnAlert() {
        func refusal(_ body: [UInt8]) -> (DTLSError?, [UInt8]?) {
            var handshake = DTLSHandshake(
                configuration: HandshakeHarness.configuration(),
                clientAddress: HandshakeHarness.address
            )
            let message = [0x01, 0x00, 0x00, UInt8(body.count), 0, 0, 0, 0, 0, 0, 0, UInt8(body.count)] + body
            let record = hex("16fefd 0000 000000000003") + [0, UInt8(message.count)] + message
            let actions = handshake.receive(record[...], at: .now)
            #expect(handshake.isIdle)
            return (actions.failure, actions.sent.first)
        }
        let good = HandshakeHarness().client.clientHelloBody()
        var noSuite = good
        noSuite[38] = 0xC0
        noSuite[39] = 0x2B  // c02b instead of c0ae
        let (suiteError, suiteAlert) = refusal(noSuite)
        #expect(suiteError == .noCommonCipherSuite)
        #expect(suiteAlert.map(hexString) == "15fefd000000000000000300020228")
        var oldVersion = good
        oldVersion[1] = 0xFF
        #expect(refusal(oldVersion).0 == .unsupportedProtocolVersion)
        var tlsVersion = good
        tlsVersion.replaceSubrange(0..<2, with: [0x03, 0x03])  // TLS 1.2's number is not DTLS
        #expect(refusal(tlsVersion).0 == .unsupportedProtocolVersion)
        var x509 = good
        x509[x509.count - 7] = 0x00  // client_certificate_type: [X.509]
        #expect(refusal(x509).0 == .rawPublicKeyNotOffered)
        var wantsCID = good
        wantsCID.replaceSubrange(74..<79, with: hex("00fe0002 01aa"))  // the client wants a 1-byte CID
        wantsCID[45] += 1
        #expect(refusal(wantsCID).0 == .unsupportedConnectionID)
        var noCurve = good
        noCurve[67] = 0x18  // secp384r1
        #expect(refusal(noCurve).0 == .noCommonCurve)
    }

    @Test func cookieExpiresAfterTwoRotations() throws {
        var harness = HandshakeHarness()
        let verifyRequest = harness.serve(harness.client.clientHello()).sent[0]
        let hello = try #require(try harness.client.receive(verifyRequest))
        harness.now += .seconds(61)  // slot 2: the slot-0 cookie is two slots old
        let actions = harness.serve(hello)
        #expect(actions.sent.count == 1)
        #expect(actions.sent[0][13] == 3)  // another HelloVerifyRequest
        #expect(harness.handshake.isIdle)
    }

    /// Every client message fragmented, out of order, overlapping.
    @Test func fragmentedClientFlight() throws {
        var harness = HandshakeHarness()
        let verifyRequest = harness.serve(harness.client.clientHello()).sent[0]
        let flight = harness.serve(try #require(try harness.client.receive(verifyRequest))).sent[0]
        let final = try #require(try harness.client.receive(flight))
        var bytes = final[...]
        var records: [DTLSRecord] = []
        while !bytes.isEmpty { records.append(try DTLSRecord.parse(from: &bytes)) }
        var fragmented: [UInt8] = []
        var sequence: UInt64 = 100
        for record in records.prefix(3) {
            let message = Array(record.fragment)
            let body = Array(message[12...])
            let cuts = [0, body.count / 3, body.count / 2, body.count]
            for index in [2, 0, 1] {
                let start = max(0, cuts[index] - 2)
                let end = cuts[index + 1]
                let header =
                    Array(message[0..<6]) + [0, UInt8(start >> 8), UInt8(start & 0xFF)]
                    + [0, UInt8((end - start) >> 8), UInt8((end - start) & 0xFF)]
                let fragment = header + body[start..<end]
                fragmented +=
                    hex("16fefd0000") + (0..<6).map { UInt8(truncatingIfNeeded: sequence >> (40 - 8 * UInt64($0))) }
                fragmented += [UInt8(fragment.count >> 8), UInt8(fragment.count & 0xFF)] + fragment
                sequence += 1
            }
        }
        var tail = final[...]
        for _ in 0..<3 { _ = try DTLSRecord.parse(from: &tail) }
        fragmented += tail
        let actions = harness.serve(fragmented)
        #expect(actions.failure == nil)
        #expect(actions.session != nil)
    }

    /// A device that restarts mid-handshake sends a new ClientHello: it replaces the half-open
    /// handshake only once its cookie is valid.
    @Test func newClientHelloRestartsOnlyWithACookie() throws {
        var harness = HandshakeHarness()
        let verifyRequest = harness.serve(harness.client.clientHello()).sent[0]
        _ = harness.serve(try #require(try harness.client.receive(verifyRequest)))
        let firstCID = harness.handshake.pendingConnectionID
        var restarted = HandshakeHarness()
        restarted.client = TestClient(
            deviceKey: HandshakeHarness.deviceKey,
            serverPublicKey: HandshakeHarness.serverKey.publicKey,
            generator: &restarted.generator
        )
        let newVerify = harness.serve(restarted.client.clientHello())
        #expect(newVerify.sent.count == 1 && newVerify.sent[0][13] == 3)
        #expect(harness.handshake.pendingConnectionID == firstCID)  // kept
        let newHello = try #require(try restarted.client.receive(newVerify.sent[0]))
        let flight = harness.serve(newHello)
        #expect(flight.sent.count == 1)
        #expect(harness.handshake.pendingConnectionID != firstCID)
        let final = try #require(try restarted.client.receive(flight.sent[0]))
        #expect(harness.serve(final).session != nil)
    }

    @Test func fatalAlertFromTheClientEndsTheHandshake() throws {
        var harness = HandshakeHarness()
        let verifyRequest = harness.serve(harness.client.clientHello()).sent[0]
        _ = harness.serve(try #require(try harness.client.receive(verifyRequest)))
        let actions = harness.serve(hex("15fefd 0000 000000000009 0002 0228"))
        #expect(actions.failure == .peerAlert(40))
        #expect(harness.handshake.isIdle)
    }

    static func replaceCertificateVerify(in datagram: [UInt8], with signature: [UInt8]) -> [UInt8] {
        var output: [UInt8] = []
        var bytes = datagram[...]
        while !bytes.isEmpty {
            let before = bytes
            let record = try! DTLSRecord.parse(from: &bytes)
            var raw = Array(before.prefix(before.count - bytes.count))
            if record.contentType == .handshake, record.epoch == 0, record.fragment.first == 15 {
                let body: [UInt8] = [0x04, 0x03, 0, UInt8(signature.count)] + signature
                let length: [UInt8] = [0, 0, UInt8(body.count)]
                let message =
                    [15] + length
                    + Array(record.fragment[record.fragment.startIndex + 4..<record.fragment.startIndex + 9]) + length
                    + body
                raw = Array(raw[0..<11]) + [0, UInt8(message.count)] + message
            }
            output += raw
        }
        return output
    }
}
