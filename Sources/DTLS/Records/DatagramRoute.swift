/// Where a received UDP datagram must go, decided from its first bytes alone (no keys, no state).
///
/// The gateway owns the tables; this only reads the datagram. How to route each case:
///
/// | First byte | Case | Send it to |
/// |---|---|---|
/// | 0x16 handshake (any epoch), 0x14 ChangeCipherSpec, 0x15 alert in epoch 0 | ``handshake`` | the ``DTLSHandshake`` kept for the source address, or a fresh one (which answers a cookieless ClientHello statelessly) |
/// | 0x19 (25) CID record, 0xFD (253) resumed CID record | ``connectionID(_:)`` | the session whose ``DTLSSession/connectionID`` it is (bytes 11..<19). If none: the handshake for the source address, if one is in progress (a client may send its final Finished in a datagram of its own); else drop silently (without keys nothing useful can be sent) |
/// | 0x17 (23) application data, 0x15 alert in epoch ≥ 1 | ``addressSession`` | the session of a pre-3.1 device (no CID) by source address |
/// | 0xFE (254) | ``legacyResumption(deviceID:records:)`` | the pre-3.1 session of that device ID; pass `records` (trailer removed) to ``DTLSSession/open(_:)``, then move the session to the new address |
/// | datagram of 0 or 1 byte | ``keepAlive`` | nowhere (a NAT keep-alive; Device OS ignores 1-byte datagrams too) |
/// | anything else | ``invalid(_:)`` | nowhere |
///
/// Device OS ≥ 4.0 marks records 253 until it receives its first record after a resume, 3.1–3.3
/// send plain 25 records, and before 3.1 a resumed device sends 254 records followed by its
/// 12-byte ID and `0x0C` (Device OS `dtls_message_channel.cpp`, `DTLSMessageChannel::send`).
public enum DatagramRoute: Hashable, Sendable {
    /// Handshake traffic: route by source address.
    case handshake
    /// A CID record: route by this connection ID.
    case connectionID(ConnectionID)
    /// A record without CID after the handshake: route by source address.
    case addressSession
    /// A pre-3.1 resumption record: route by this device ID (12 raw bytes); `records` is the
    /// datagram without its trailer.
    case legacyResumption(deviceID: [UInt8], records: ArraySlice<UInt8>)
    /// 0 or 1 byte: ignore.
    case keepAlive
    /// Not DTLS this server understands: drop, with the reason.
    case invalid(DTLSError)

    /// Classifies a datagram.
    public init(datagram: ArraySlice<UInt8>) {
        guard datagram.count > 1 else {
            self = .keepAlive
            return
        }
        guard let type = ContentType(rawValue: datagram[datagram.startIndex]) else {
            self = .invalid(.unknownContentType)
            return
        }
        guard datagram.count >= 13 else {
            self = .invalid(.truncatedRecord)
            return
        }
        switch type {
        case .handshake, .changeCipherSpec:
            self = .handshake
        case .alert:
            let epoch = UInt16(datagram[datagram.startIndex + 3]) << 8 | UInt16(datagram[datagram.startIndex + 4])
            self = epoch == 0 ? .handshake : .addressSession
        case .applicationData:
            self = .addressSession
        case .connectionID, .resumedConnectionID:
            guard let id = ConnectionID(datagram: datagram) else {
                self = .invalid(.truncatedRecord)
                return
            }
            self = .connectionID(id)
        case .legacyResumption:
            // The trailer is `device_id[n] ‖ n`; the record before it keeps its own length.
            let n = Int(datagram[datagram.endIndex - 1])
            guard n > 0, datagram.count >= 13 + n + 1 else {
                self = .invalid(.invalidTrailer)
                return
            }
            let trailerStart = datagram.endIndex - 1 - n
            self = .legacyResumption(
                deviceID: Array(datagram[trailerStart..<datagram.endIndex - 1]),
                records: datagram[datagram.startIndex..<trailerStart]
            )
        }
    }
}
