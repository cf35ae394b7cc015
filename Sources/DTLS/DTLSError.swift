/// Why the DTLS layer refused, dropped or could not produce something.
///
/// Every refusal of received bytes carries one of these as its reason (for logs and metrics:
/// the set is fixed and small, so it can be a label). Descriptions never contain key material or
/// decrypted bytes.
public struct DTLSError: Error, Hashable, Sendable, CustomStringConvertible {
    private enum Code: Hashable, Sendable {
        case invalidCipherParameters
        case authenticationFailed
        case truncatedRecord
        case unsupportedRecordVersion
        case unknownContentType
        case recordTooLong
        case emptyDatagram
        case replayedRecord
        case unexpectedEpoch
        case connectionIDMismatch
        case invalidInnerPlaintext
        case malformedHandshake
        case malformedClientHello
        case malformedAlert
        case fragmentedClientHello
        case handshakeMessageTooLong
        case unexpectedMessage
        case duplicateMessage
        case unsupportedProtocolVersion
        case noCommonCipherSuite
        case noNullCompression
        case noCommonCurve
        case noCommonSignatureAlgorithm
        case rawPublicKeyNotOffered
        case unsupportedConnectionID
        case duplicateExtension
        case badCertificate
        case badKeyExchange
        case badCertificateVerify
        case badFinished
        case handshakeTimeout
        case peerAlert(UInt8)
        case plaintextTooLong
        case sequenceNumberExhausted
        case invalidSessionState
        case invalidTrailer
    }

    private let code: Code

    private init(_ code: Code) {
        self.code = code
    }

    /// An AES-CCM key, tag length, length-field size, nonce or message length is outside what
    /// the mode allows.
    public static let invalidCipherParameters = DTLSError(.invalidCipherParameters)
    /// A record (or CCM message) failed authentication: wrong key, wrong AAD or altered bytes.
    public static let authenticationFailed = DTLSError(.authenticationFailed)
    /// A record header or body runs past the end of its datagram.
    public static let truncatedRecord = DTLSError(.truncatedRecord)
    /// A record's version is not DTLS 1.2 (`fe fd`; `fe ff` is accepted in epoch 0).
    public static let unsupportedRecordVersion = DTLSError(.unsupportedRecordVersion)
    /// The first byte of a record is not a content type this server knows.
    public static let unknownContentType = DTLSError(.unknownContentType)
    /// A record is longer than TLS allows (2^14 + 2048 bytes of fragment).
    public static let recordTooLong = DTLSError(.recordTooLong)
    /// The datagram holds no record at all (0 or 1 byte: a keep-alive, or nothing).
    public static let emptyDatagram = DTLSError(.emptyDatagram)
    /// A record's sequence number was already received, or is older than the 64-record window.
    public static let replayedRecord = DTLSError(.replayedRecord)
    /// A record's epoch is not the one expected at this point (for example epoch 0 application
    /// data on an established session, or a future epoch).
    public static let unexpectedEpoch = DTLSError(.unexpectedEpoch)
    /// A record carries a connection ID other than the session's, or none where one is required,
    /// or one where none was negotiated.
    public static let connectionIDMismatch = DTLSError(.connectionIDMismatch)
    /// A decrypted CID record is all zero padding (no real content type).
    public static let invalidInnerPlaintext = DTLSError(.invalidInnerPlaintext)
    /// A handshake message header or body does not parse.
    public static let malformedHandshake = DTLSError(.malformedHandshake)
    /// A ClientHello does not parse.
    public static let malformedClientHello = DTLSError(.malformedClientHello)
    /// An alert record is not exactly two bytes.
    public static let malformedAlert = DTLSError(.malformedAlert)
    /// A ClientHello arrived in fragments; this server needs it whole (it keeps no state before
    /// the cookie exchange, as RFC 6347 §4.2.1 allows).
    public static let fragmentedClientHello = DTLSError(.fragmentedClientHello)
    /// A handshake message announces more bytes than this server buffers for one message.
    public static let handshakeMessageTooLong = DTLSError(.handshakeMessageTooLong)
    /// A message or record arrived that the handshake does not expect in its current state.
    public static let unexpectedMessage = DTLSError(.unexpectedMessage)
    /// A handshake message that was already processed arrived again (a retransmission).
    public static let duplicateMessage = DTLSError(.duplicateMessage)
    /// The client cannot do DTLS 1.2.
    public static let unsupportedProtocolVersion = DTLSError(.unsupportedProtocolVersion)
    /// The client does not offer TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8 (0xC0AE).
    public static let noCommonCipherSuite = DTLSError(.noCommonCipherSuite)
    /// The client does not offer the null compression method.
    public static let noNullCompression = DTLSError(.noNullCompression)
    /// The client's supported groups or point formats exclude uncompressed secp256r1.
    public static let noCommonCurve = DTLSError(.noCommonCurve)
    /// The client's signature algorithms exclude ECDSA with SHA-256.
    public static let noCommonSignatureAlgorithm = DTLSError(.noCommonSignatureAlgorithm)
    /// The client does not offer raw public keys (RFC 7250) as its certificate type.
    public static let rawPublicKeyNotOffered = DTLSError(.rawPublicKeyNotOffered)
    /// The client asks for a connection ID on the records it receives, which Particle devices
    /// never do and this server does not support.
    public static let unsupportedConnectionID = DTLSError(.unsupportedConnectionID)
    /// A ClientHello names the same extension twice.
    public static let duplicateExtension = DTLSError(.duplicateExtension)
    /// The client Certificate is empty or not a P-256 SubjectPublicKeyInfo.
    public static let badCertificate = DTLSError(.badCertificate)
    /// The ClientKeyExchange point is not an uncompressed P-256 point.
    public static let badKeyExchange = DTLSError(.badKeyExchange)
    /// The CertificateVerify signature does not verify with the client's key.
    public static let badCertificateVerify = DTLSError(.badCertificateVerify)
    /// The client's Finished verify_data is wrong.
    public static let badFinished = DTLSError(.badFinished)
    /// The handshake did not complete within its lifetime.
    public static let handshakeTimeout = DTLSError(.handshakeTimeout)
    /// The peer sent a fatal alert (or close_notify) with this description.
    public static func peerAlert(_ description: UInt8) -> DTLSError { DTLSError(.peerAlert(description)) }
    /// A plaintext is longer than one record may carry (2^14 bytes).
    public static let plaintextTooLong = DTLSError(.plaintextTooLong)
    /// The session's outgoing sequence number reached 2^48 - 1; it must not be reused.
    public static let sequenceNumberExhausted = DTLSError(.sequenceNumberExhausted)
    /// A persisted session state does not parse.
    public static let invalidSessionState = DTLSError(.invalidSessionState)
    /// A legacy resumption datagram (first byte 0xFE) lacks a valid device-ID trailer.
    public static let invalidTrailer = DTLSError(.invalidTrailer)

    /// A short description without any key material.
    public var description: String {
        switch self.code {
        case .invalidCipherParameters: "invalid cipher parameters"
        case .authenticationFailed: "record authentication failed"
        case .truncatedRecord: "truncated record"
        case .unsupportedRecordVersion: "unsupported record version"
        case .unknownContentType: "unknown content type"
        case .recordTooLong: "record too long"
        case .emptyDatagram: "empty datagram"
        case .replayedRecord: "replayed or too old record"
        case .unexpectedEpoch: "unexpected epoch"
        case .connectionIDMismatch: "connection ID mismatch"
        case .invalidInnerPlaintext: "invalid inner plaintext"
        case .malformedHandshake: "malformed handshake message"
        case .malformedClientHello: "malformed ClientHello"
        case .malformedAlert: "malformed alert"
        case .fragmentedClientHello: "fragmented ClientHello"
        case .handshakeMessageTooLong: "handshake message too long"
        case .unexpectedMessage: "unexpected message"
        case .duplicateMessage: "duplicate handshake message"
        case .unsupportedProtocolVersion: "client does not support DTLS 1.2"
        case .noCommonCipherSuite: "no common cipher suite"
        case .noNullCompression: "null compression not offered"
        case .noCommonCurve: "secp256r1 not offered"
        case .noCommonSignatureAlgorithm: "ecdsa_secp256r1_sha256 not offered"
        case .rawPublicKeyNotOffered: "raw public keys not offered"
        case .unsupportedConnectionID: "client requested its own connection ID"
        case .duplicateExtension: "duplicate extension"
        case .badCertificate: "bad client certificate"
        case .badKeyExchange: "bad client key exchange"
        case .badCertificateVerify: "CertificateVerify signature invalid"
        case .badFinished: "Finished verify_data mismatch"
        case .handshakeTimeout: "handshake timed out"
        case .peerAlert(let description): "peer sent alert \(description)"
        case .plaintextTooLong: "plaintext too long for one record"
        case .sequenceNumberExhausted: "sequence numbers exhausted"
        case .invalidSessionState: "invalid persisted session state"
        case .invalidTrailer: "invalid resumption trailer"
        }
    }
}
