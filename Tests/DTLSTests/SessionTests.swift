@preconcurrency import Crypto
import DTLS
import Testing

/// The established session: what it drops, and persisting and restoring it.
@Suite struct SessionTests {
    /// A session and the client that made it.
    static func established(offersConnectionID: Bool = true) throws -> (DTLSSession, TestClient) {
        var harness = HandshakeHarness(offersConnectionID: offersConnectionID)
        let (session, _) = try harness.complete()
        return (session, harness.client)
    }

    @Test func dropsReplaysWrongEpochsWrongCIDsAndBadMACs() throws {
        var (session, client) = try Self.established()
        let record = try client.seal([0x40, 0, 0, 1])
        #expect(session.open(record[...]).first.isApplicationData)
        #expect(session.open(record[...]).first?.dropReason == .replayedRecord)

        var epoch0 = record
        epoch0[4] = 0
        #expect(session.open(epoch0[...]).first?.dropReason == .unexpectedEpoch)
        var epoch2 = record
        epoch2[4] = 2
        #expect(session.open(epoch2[...]).first?.dropReason == .unexpectedEpoch)

        let next = try client.seal([0x40, 0, 0, 2])
        var otherCID = next
        otherCID[11] ^= 1
        #expect(session.open(otherCID[...]).first?.dropReason == .connectionIDMismatch)
        var badMAC = next
        badMAC[badMAC.count - 1] ^= 1
        #expect(session.open(badMAC[...]).first?.dropReason == .authenticationFailed)
        // The forged copy did not move the window: the genuine record still opens.
        #expect(session.open(next[...]).first.isApplicationData)

        // A plain record on a CID session, and a CID record on a session without one.
        var plain = try client.keys!.clientProtection.seal([1], type: .applicationData, epoch: 1, sequenceNumber: 50)
        #expect(session.open(plain[...]).first?.dropReason == .connectionIDMismatch)
        var (legacy, _) = try Self.established(offersConnectionID: false)
        #expect(legacy.open(next[...]).first?.dropReason == .connectionIDMismatch)
        plain[0] = 0x14
        #expect(session.open(plain[...]).first?.dropReason == .unexpectedMessage)
    }

    @Test func olderRecordsInsideTheWindowDoNotMoveThePeer() throws {
        var (session, client) = try Self.established()
        let older = try client.seal([1])
        let newer = try client.seal([2])
        guard case .applicationData(_, let first) = session.open(newer[...]).first,
            case .applicationData(_, let second) = session.open(older[...]).first
        else {
            Issue.record("expected both records to open")
            return
        }
        #expect(first.updatesPeerAddress)
        #expect(!second.isNewest && !second.updatesPeerAddress)
        // The same older-style record marked 253 (resumed) does move it.
        var resumed = try client.seal([3])
        resumed[0] = 0xFD
        guard case .applicationData(_, let third) = session.open(resumed[...]).first else {
            Issue.record("253 record not opened")
            return
        }
        #expect(third.marker == .resumedConnectionID && third.updatesPeerAddress)
    }

    @Test func alertsAndCloseNotify() throws {
        var (session, client) = try Self.established()
        let close = try client.protectedRecord([0x01, 0x00], type: .alert)
        guard case .alert(let alert, _) = session.open(close[...]).first else {
            Issue.record("expected an alert")
            return
        }
        #expect(alert.isCloseNotify && !alert.isFatal)
        let ours = try session.sealCloseNotify()
        let (type, plaintext) = try client.open(ours)
        #expect(type == .alert && plaintext == [0x01, 0x00])
        let malformed = try client.protectedRecord([0x02], type: .alert)
        #expect(session.open(malformed[...]).first?.dropReason == .malformedAlert)
    }

    @Test func persistsAndRestores() throws {
        var (session, client) = try Self.established()
        for index in 0..<5 { _ = try session.seal([UInt8(index)]) }
        let before = try client.seal([0x40])
        _ = session.open(before[...])
        #expect(session.needsReservation)
        let state = session.reserveSequenceNumbers(1000)
        #expect(!session.needsReservation)
        #expect(state.nextSequenceNumber == 1006)
        let bytes = state.serialized()
        #expect(bytes.count == 2 + 8 + 2 + 24 + 48 + 64 + 2 + 91)
        let parsed = try DTLSSession.State(serialized: bytes)
        #expect(parsed == state)
        #expect(!"\(parsed)".contains(hexString(state.masterSecret.prefix(4))))

        // The server restarts: the restored session continues past the reservation and still
        // talks to the device.
        var restored = try DTLSSession(restoring: parsed)
        #expect(restored.connectionID == session.connectionID)
        #expect(restored.nextSequenceNumber == 1006)
        #expect(restored.needsReservation)
        let record = try restored.seal([0x60, 0, 0, 1])
        #expect(hexString(record.prefix(11)) == "17fefd00010000000003ee")
        #expect(try client.open(record).1 == [0x60, 0, 0, 1])
        #expect(restored.open(try client.seal([0x41])[...]).first.isApplicationData)
        // The persisted window still refuses what the device sent before.
        #expect(restored.open(before[...]).first?.dropReason == .replayedRecord)

        // Half the reservation used: time to persist again.
        var busy = restored
        _ = busy.reserveSequenceNumbers(10)
        for _ in 0..<4 { _ = try busy.seal([0]) }
        #expect(!busy.needsReservation)
        _ = try busy.seal([0])
        #expect(busy.needsReservation)
    }

    @Test func refusesBadPersistedState() throws {
        let (session, _) = try Self.established()
        let bytes = session.state.serialized()
        for length in 0..<bytes.count {
            #expect(throws: DTLSError.invalidSessionState) { try DTLSSession.State(serialized: bytes.prefix(length)) }
        }
        #expect(throws: DTLSError.invalidSessionState) { try DTLSSession.State(serialized: bytes + [0]) }
        var version = bytes
        version[0] = 9
        #expect(throws: DTLSError.invalidSessionState) { try DTLSSession.State(serialized: version) }
        var state = session.state
        state.peerPublicKey[30] ^= 0xFF  // not a point on the curve
        #expect(throws: DTLSError.invalidSessionState) { try DTLSSession(restoring: state) }
        state = session.state
        state.masterSecret.removeLast()
        #expect(throws: DTLSError.invalidSessionState) { try DTLSSession(restoring: state) }
    }

    @Test func sequenceNumbersNeverWrap() throws {
        let (session, _) = try Self.established()
        var state = session.state
        state.nextSequenceNumber = DTLSSession.maximumSequenceNumber
        var last = try DTLSSession(restoring: state)
        _ = try last.seal([1])
        #expect(throws: DTLSError.sequenceNumberExhausted) { try last.seal([2]) }
    }
}

extension DTLSSession.Inbound {
    var dropReason: DTLSError? {
        if case .dropped(let error) = self { return error }
        return nil
    }
}

extension Optional where Wrapped == DTLSSession.Inbound {
    var isApplicationData: Bool {
        if case .applicationData = self { return true }
        return false
    }
}
