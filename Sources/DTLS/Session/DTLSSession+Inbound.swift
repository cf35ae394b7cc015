extension DTLSSession {
    /// How a received record was marked on the wire.
    public enum RecordMarker: Hashable, Sendable {
        /// A CID record (type 25).
        case connectionID
        /// A CID record of a resuming Device OS ≥ 4.0 (type 253).
        case resumedConnectionID
        /// An application-data record of a resuming Device OS < 3.1 (type 254 + device-ID
        /// trailer).
        case legacyResumption
        /// A record without CID (type 21/23 from a device < 3.1).
        case plain
    }

    /// Facts about one authenticated record.
    public struct RecordInfo: Hashable, Sendable {
        /// The record's sequence number.
        public var sequenceNumber: UInt64
        /// Whether it is the newest record received so far (it moved the replay window).
        public var isNewest: Bool
        /// How it was marked.
        public var marker: RecordMarker

        /// Whether the session's peer address should become this datagram's source address:
        /// always for resumption-marked records (the device says it moved), and for the newest
        /// record otherwise, so a delayed or replayed older datagram cannot steer the session
        /// elsewhere (the practice of RFC 9146 §6).
        public var updatesPeerAddress: Bool {
            self.isNewest || self.marker == .resumedConnectionID || self.marker == .legacyResumption
        }
    }

    /// What one record of a received datagram amounted to.
    public enum Inbound: Sendable {
        /// Application data: one CoAP message.
        case applicationData([UInt8], RecordInfo)
        /// An alert. A fatal alert or close_notify ends the session: discard it.
        case alert(Alert, RecordInfo)
        /// Send this datagram back: the device repeated its handshake Finished because the
        /// server's ChangeCipherSpec + Finished was lost.
        case reply([UInt8], RecordInfo)
        /// The record was dropped (for the reason given); the session is unchanged. DTLS drops
        /// bad records silently (RFC 6347 §4.1.2.7): send nothing back.
        case dropped(DTLSError)
    }

    /// Opens every record of a datagram routed to this session (the trailer of a 0xFE datagram
    /// already removed, see ``DatagramRoute``). Records that fail to parse, authenticate or pass
    /// the replay window are dropped; the session's state changes only for authenticated ones.
    public mutating func open(_ datagram: ArraySlice<UInt8>) -> [Inbound] {
        var results: [Inbound] = []
        var remaining = datagram
        while !remaining.isEmpty {
            do throws(DTLSError) {
                let record = try DTLSRecord.parse(from: &remaining)
                results.append(self.open(record))
            } catch {
                results.append(.dropped(error))
                break
            }
        }
        return results
    }

    /// Opens one parsed record.
    public mutating func open(_ record: DTLSRecord) -> Inbound {
        let marker: RecordMarker
        switch record.contentType {
        case .connectionID: marker = .connectionID
        case .resumedConnectionID: marker = .resumedConnectionID
        case .legacyResumption: marker = .legacyResumption
        case .applicationData, .alert, .handshake: marker = .plain
        case .changeCipherSpec: return .dropped(.unexpectedMessage)
        }
        guard record.connectionID == self.connectionID,
            self.connectionID == nil || marker == .connectionID || marker == .resumedConnectionID
        else { return .dropped(.connectionIDMismatch) }
        guard record.epoch == self.epoch else { return .dropped(.unexpectedEpoch) }
        guard self.replayWindow.accepts(record.sequenceNumber) else { return .dropped(.replayedRecord) }
        let opened: (type: ContentType, plaintext: [UInt8])
        do throws(DTLSError) {
            opened = try self.inbound.open(record)
        } catch {
            return .dropped(error)
        }
        let info = RecordInfo(
            sequenceNumber: record.sequenceNumber,
            isNewest: self.replayWindow.record(record.sequenceNumber),
            marker: marker
        )
        switch opened.type {
        case .applicationData:
            // Application data proves the device processed the server's Finished.
            self.finalFlight = nil
            return .applicationData(opened.plaintext, info)
        case .alert:
            do throws(DTLSError) {
                return .alert(try Alert(bytes: opened.plaintext), info)
            } catch {
                return .dropped(error)
            }
        case .handshake:
            let fragments = try? HandshakeFragment.parseAll(opened.plaintext[...])
            guard let finalFlight = self.finalFlight,
                fragments?.contains(where: { $0.type == HandshakeMessage.finished }) == true
            else { return .dropped(.unexpectedMessage) }
            return .reply(finalFlight, info)
        default:
            return .dropped(.unexpectedMessage)
        }
    }
}
