import DTLS
import Testing

/// The record layer against the worked vectors, and its framing rules.
@Suite struct RecordTests {
    @Test func opensTheDeviceCIDRecord() throws {
        let keys = try Vectors.keyMaterial()
        var bytes = Vectors.deviceRecord[...]
        let record = try DTLSRecord.parse(from: &bytes)
        #expect(bytes.isEmpty)
        #expect(record.contentType == .connectionID)
        #expect(record.epoch == 1)
        #expect(record.sequenceNumber == 5)
        #expect(record.connectionID == Vectors.connectionID)
        let opened = try keys.clientProtection.open(record)
        #expect(opened.type == .applicationData)
        #expect(opened.plaintext == hex("40001234"))
    }

    @Test func sealsTheDeviceCIDRecordByteForByte() throws {
        let keys = try Vectors.keyMaterial()
        let record = try keys.clientProtection.sealConnectionIDRecord(
            hex("40001234"),
            type: .applicationData,
            epoch: 1,
            sequenceNumber: 5,
            connectionID: Vectors.connectionID
        )
        #expect(record == Vectors.deviceRecord)
        #expect(record.count == 53)
    }

    /// A resuming Device OS ≥ 4.0 rewrites the first byte to 253 after encrypting: the AAD still
    /// has 25.
    @Test func opensTheResumptionFormWithTheSameAAD() throws {
        let keys = try Vectors.keyMaterial()
        var bytes = ([0xFD] + Vectors.deviceRecord.dropFirst())[...]
        let record = try DTLSRecord.parse(from: &bytes)
        #expect(record.contentType == .resumedConnectionID)
        #expect(try keys.clientProtection.open(record).plaintext == hex("40001234"))
    }

    @Test func sealsTheServerRecordByteForByte() throws {
        let keys = try Vectors.keyMaterial()
        let record = try keys.serverProtection.seal(
            hex("60001234"),
            type: .applicationData,
            epoch: 1,
            sequenceNumber: 7
        )
        #expect(record == Vectors.serverRecord)
        #expect(record.count == 33)
        var bytes = record[...]
        let parsed = try DTLSRecord.parse(from: &bytes)
        #expect(try keys.serverProtection.open(parsed).plaintext == hex("60001234"))
    }

    /// Before Device OS 3.1: no CID, 13-byte AAD, and on resumption type 254 (authenticated as
    /// 23) with the device ID and its length appended after the record.
    @Test func legacyRecordsAndTheDeviceIDTrailer() throws {
        let keys = try Vectors.keyMaterial()
        let record = try keys.clientProtection.seal(
            hex("40001234"),
            type: .applicationData,
            epoch: 1,
            sequenceNumber: 9
        )
        let deviceID = hex("e00fce68ece1d3d21a73dcc9")
        let datagram = [0xFE] + record.dropFirst() + deviceID + [0x0C]
        guard case .legacyResumption(let id, let records) = DatagramRoute(datagram: datagram[...]) else {
            Issue.record("not routed as legacy resumption")
            return
        }
        #expect(id == deviceID)
        #expect(Array(records) == [0xFE] + record.dropFirst())
        var bytes = records
        let parsed = try DTLSRecord.parse(from: &bytes)
        #expect(parsed.contentType == .legacyResumption)
        #expect(try keys.clientProtection.open(parsed).plaintext == hex("40001234"))
    }

    @Test func routesByFirstByte() {
        let cid = Vectors.connectionID
        #expect(DatagramRoute(datagram: Vectors.deviceRecord[...]) == .connectionID(cid))
        #expect(DatagramRoute(datagram: ([0xFD] + Vectors.deviceRecord.dropFirst())[...]) == .connectionID(cid))
        #expect(DatagramRoute(datagram: Vectors.serverRecord[...]) == .addressSession)
        #expect(DatagramRoute(datagram: hex("16fefd0000000000000000000100")[...]) == .handshake)
        #expect(DatagramRoute(datagram: hex("14fefd0000000000000000000101")[...]) == .handshake)
        #expect(DatagramRoute(datagram: hex("15fefd000000000000000000020228")[...]) == .handshake)
        #expect(DatagramRoute(datagram: hex("15fefd000100000000000000020228")[...]) == .addressSession)
        #expect(DatagramRoute(datagram: [0x00][...]) == .keepAlive)
        #expect(DatagramRoute(datagram: [][...]) == .keepAlive)
        #expect(DatagramRoute(datagram: hex("42fefd000000000000000000020228")[...]) == .invalid(.unknownContentType))
        #expect(DatagramRoute(datagram: hex("19fefd0001000000000005010203")[...]) == .invalid(.truncatedRecord))
        #expect(DatagramRoute(datagram: hex("fefefd00010000000000050001")[...]) == .invalid(.invalidTrailer))
        #expect(ConnectionID(datagram: Vectors.deviceRecord) == cid)
        #expect(cid.description == "0102030405060708")
    }

    @Test func parsesSeveralRecordsOfOneDatagram() throws {
        let datagram = hex("16fefd 0000 000000000001 0002 aabb  14fefd 0000 000000000002 0001 01")
        var bytes = datagram[...]
        let first = try DTLSRecord.parse(from: &bytes)
        let second = try DTLSRecord.parse(from: &bytes)
        #expect(bytes.isEmpty)
        #expect(first.contentType == .handshake && Array(first.fragment) == [0xAA, 0xBB])
        #expect(second.contentType == .changeCipherSpec && second.sequenceNumber == 2)
    }

    @Test func refusesMalformedRecordsWithAReason() {
        func reason(_ text: String) -> DTLSError? {
            var bytes = hex(text)[...]
            do {
                _ = try DTLSRecord.parse(from: &bytes)
                return nil
            } catch {
                return error
            }
        }
        #expect(reason("16fefd 0000 000000000001 0003 aabb") == .truncatedRecord)
        #expect(reason("16fefd 0000 0000000000") == .truncatedRecord)
        #expect(reason("07fefd 0000 000000000001 0000") == .unknownContentType)
        #expect(reason("17fefe 0001 000000000001 0000") == .unsupportedRecordVersion)
        #expect(reason("17feff 0001 000000000001 0000") == .unsupportedRecordVersion)
        #expect(reason("16feff 0000 000000000001 0000") == nil)  // DTLS 1.0 record version in epoch 0
        #expect(reason("17fefd 0001 000000000001 ffff") == .recordTooLong)
    }

    @Test func innerPlaintextPaddingAndBadInnerTypes() throws {
        let keys = try Vectors.keyMaterial()
        let protection = keys.clientProtection
        for length in [0, 1, 14, 15, 16, 31, 100] {
            let payload = [UInt8](repeating: 0x5A, count: length)
            let record = try protection.sealConnectionIDRecord(
                payload,
                type: .alert,
                epoch: 1,
                sequenceNumber: UInt64(length),
                connectionID: Vectors.connectionID
            )
            let inner = record.count - 21 - 16
            #expect(inner % 16 == 0 && inner >= length + 1 && inner < length + 17)
            var bytes = record[...]
            let opened = try protection.open(try DTLSRecord.parse(from: &bytes))
            #expect(opened.type == .alert && opened.plaintext == payload)
        }
        // An inner plaintext of zeros only has no type.
        let zeros = try AESCCM(key: keys.clientWriteKey).seal(
            [UInt8](repeating: 0, count: 16),
            nonce: keys.clientWriteIV + hex("0001000000000001"),
            authenticating: hex("0001000000000001 19 fefd 0102030405060708 08 0010")
        )
        var bytes = (hex("19fefd 0001000000000001 0102030405060708 0020 0001000000000001") + zeros)[...]
        #expect(throws: DTLSError.invalidInnerPlaintext) { try protection.open(try DTLSRecord.parse(from: &bytes)) }
    }

    @Test func refusesOversizedPlaintext() throws {
        let keys = try Vectors.keyMaterial()
        #expect(throws: DTLSError.plaintextTooLong) {
            try keys.serverProtection.seal(
                [UInt8](repeating: 0, count: 16385),
                type: .applicationData,
                epoch: 1,
                sequenceNumber: 1
            )
        }
    }
}
