/// One DTLS 1.2 record as it sits in a datagram, parsed without copying its fragment.
///
/// Header (RFC 6347 §4.1): `type:1 version:2 epoch:2 sequence_number:6 length:2 fragment`. CID
/// records (type 25, or 253 on resumption) have the 8-byte connection ID between the sequence
/// number and the length (draft-ietf-tls-dtls-connection-id-05 §3). The CID length is not on the
/// wire, so the parser takes the one length this server issues (``ConnectionID/length``).
public struct DTLSRecord: Sendable {
    /// The content type byte (25/253/254 for the marked forms).
    public var contentType: ContentType
    /// The record version (`0xFEFD` for DTLS 1.2).
    public var version: UInt16
    /// The epoch: 0 for the plaintext handshake, 1 after ChangeCipherSpec.
    public var epoch: UInt16
    /// The 48-bit sequence number.
    public var sequenceNumber: UInt64
    /// The connection ID of a CID record.
    public var connectionID: ConnectionID?
    /// The fragment: plaintext in epoch 0, else `explicit_nonce[8] ‖ ciphertext ‖ tag[8]`.
    public var fragment: ArraySlice<UInt8>

    /// The most a record may carry: TLSCiphertext's 2^14 + 2048 (RFC 5246 §6.2.3).
    public static let maximumFragmentLength = 16384 + 2048

    /// DTLS 1.2's on-the-wire version.
    public static let dtls12: UInt16 = 0xFEFD
    /// DTLS 1.0's version, which RFC 6347 §4.1 lets a client put on its first ClientHello record.
    public static let dtls10: UInt16 = 0xFEFF

    /// Parses the record at the start of `bytes` and removes it (header and fragment) from
    /// `bytes`, leaving the records that follow in the same datagram.
    ///
    /// - Throws: ``DTLSError/truncatedRecord``, ``DTLSError/unknownContentType``,
    ///   ``DTLSError/unsupportedRecordVersion`` or ``DTLSError/recordTooLong``; `bytes` is then
    ///   unchanged and the rest of the datagram cannot be framed (drop it).
    public static func parse(from bytes: inout ArraySlice<UInt8>) throws(DTLSError) -> DTLSRecord {
        var reader = ByteReader(bytes, error: .truncatedRecord)
        guard let type = ContentType(rawValue: try reader.readUInt8()) else { throw .unknownContentType }
        let version = try reader.readUInt16()
        let epoch = try reader.readUInt16()
        let sequenceNumber = try reader.readUInt48()
        var connectionID: ConnectionID?
        if type.carriesConnectionID {
            connectionID = ConnectionID(bytes: try reader.readBytes(ConnectionID.length))
        }
        let length = Int(try reader.readUInt16())
        guard version == Self.dtls12 || (epoch == 0 && version == Self.dtls10) else {
            throw .unsupportedRecordVersion
        }
        guard length <= Self.maximumFragmentLength else { throw .recordTooLong }
        let fragment = try reader.readBytes(length)
        bytes = reader.remaining
        return DTLSRecord(
            contentType: type,
            version: version,
            epoch: epoch,
            sequenceNumber: sequenceNumber,
            connectionID: connectionID,
            fragment: fragment
        )
    }

    /// Encodes a plaintext (epoch 0) record, or any record whose fragment is already final.
    static func encode(
        type: ContentType,
        epoch: UInt16,
        sequenceNumber: UInt64,
        fragment: some Collection<UInt8>,
        into output: inout [UInt8]
    ) {
        output.append(type.rawValue)
        output.appendUInt16(Self.dtls12)
        output.appendUInt16(epoch)
        output.appendBigEndian(sequenceNumber, bytes: 6)
        output.appendUInt16(UInt16(fragment.count))
        output.append(contentsOf: fragment)
    }
}
