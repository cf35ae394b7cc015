/// The first byte of a DTLS record.
public enum ContentType: UInt8, Sendable, Hashable {
    /// ChangeCipherSpec (20): the one-byte message before Finished.
    case changeCipherSpec = 20
    /// Alert (21).
    case alert = 21
    /// Handshake (22).
    case handshake = 22
    /// Application data (23): CoAP messages.
    case applicationData = 23
    /// `tls12_cid` (25): a record carrying a connection ID, encrypted with its real type inside
    /// (draft-ietf-tls-dtls-connection-id-05, as mbedTLS 2.22 implements it).
    case connectionID = 25
    /// 253: a CID record whose first byte a resuming Device OS ≥ 4.0 rewrote from 25, until it
    /// receives its first record (Device OS `ALT_CID_CONTENT_TYPE`,
    /// `communication/src/dtls_message_channel.cpp`). Authenticated as 25.
    case resumedConnectionID = 253
    /// 254: an application-data record whose first byte a resuming Device OS < 3.1 rewrote from
    /// 23, with the device ID appended after the record (Device OS 2.x
    /// `DTLSMessageChannel::send`). Authenticated as 23.
    case legacyResumption = 254

    /// The content type the record was authenticated with (25 for 253, 23 for 254).
    var authenticatedType: UInt8 {
        switch self {
        case .resumedConnectionID: ContentType.connectionID.rawValue
        case .legacyResumption: ContentType.applicationData.rawValue
        default: self.rawValue
        }
    }

    /// Whether records of this type carry an 8-byte connection ID after the sequence number.
    var carriesConnectionID: Bool { self == .connectionID || self == .resumedConnectionID }
}
