/// AES-128-CCM_8 protection of the records one side sends (RFC 6655 §3, RFC 5246 §6.2.3.3),
/// in the two record forms Particle devices use.
///
/// * **Plain records** (server → device always; device → server before Device OS 3.1):
///   `type fe fd epoch seq len explicit_nonce[8] ciphertext tag[8]`, nonce
///   `write_IV[4] ‖ explicit_nonce`, AAD (13 bytes) `epoch ‖ seq ‖ type ‖ fe fd ‖
///   len(plaintext)`.
/// * **CID records** (device → server since 3.1): type 25 and the 8-byte CID after the sequence
///   number; the plaintext is the DTLSInnerPlaintext `content ‖ real_type ‖ zeros` padded to a
///   multiple of 16 (mbedTLS `MBEDTLS_SSL_CID_PADDING_GRANULARITY`); AAD (22 bytes) in the
///   draft-05 layout mbedTLS 2.22 uses (`ssl_extract_add_data_from_record`): `epoch ‖ seq ‖ 0x19
///   ‖ fe fd ‖ cid ‖ cid_len ‖ len(inner)`. RFC 9146's AAD differs and does not verify.
///
/// A 253 record authenticates as 25 and a 254 record as 23: the device rewrites the first byte
/// after encrypting.
public struct RecordProtection: Sendable, CustomStringConvertible {
    private let ccm: AESCCM
    private let implicitNonce: [UInt8]

    /// The CCM_8 tag length.
    static let tagLength = 8
    /// The explicit nonce length.
    static let explicitNonceLength = 8
    /// The largest plaintext one record may carry (RFC 5246 §6.2.1).
    public static let maximumPlaintextLength = 16384

    /// Creates the protection for one direction from its 16-byte write key and 4-byte write IV.
    public init(key: [UInt8], implicitNonce: [UInt8]) throws(DTLSError) {
        guard key.count == 16, implicitNonce.count == 4 else { throw .invalidCipherParameters }
        self.ccm = try AESCCM(key: key, tagLength: Self.tagLength, lengthFieldSize: 3)
        self.implicitNonce = implicitNonce
    }

    /// Seals a plain record (no CID): the form the server sends. The explicit nonce is
    /// `epoch ‖ sequence_number`, as mbedTLS writes it.
    ///
    /// - Throws: ``DTLSError/plaintextTooLong`` above 2^14 bytes.
    public func seal(
        _ plaintext: some Collection<UInt8>,
        type: ContentType,
        epoch: UInt16,
        sequenceNumber: UInt64
    ) throws(DTLSError) -> [UInt8] {
        guard plaintext.count <= Self.maximumPlaintextLength else { throw .plaintextTooLong }
        var record: [UInt8] = []
        record.reserveCapacity(13 + 16 + plaintext.count)
        record.append(type.rawValue)
        record.appendUInt16(DTLSRecord.dtls12)
        record.appendUInt16(epoch)
        record.appendBigEndian(sequenceNumber, bytes: 6)
        record.appendUInt16(UInt16(plaintext.count + 16))
        let aad = Self.additionalData(
            epoch: epoch,
            sequenceNumber: sequenceNumber,
            type: type.rawValue,
            version: DTLSRecord.dtls12,
            connectionID: nil,
            length: plaintext.count
        )
        self.sealFragment(
            plaintext,
            padTo: nil,
            type: nil,
            epoch: epoch,
            sequenceNumber: sequenceNumber,
            aad: aad,
            into: &record
        )
        return record
    }

    /// Seals a CID record (type 25): the form a device ≥ 3.1 sends (for a test or simulated
    /// device). The DTLSInnerPlaintext is padded with zeros to a multiple of 16.
    public func sealConnectionIDRecord(
        _ plaintext: some Collection<UInt8>,
        type: ContentType,
        epoch: UInt16,
        sequenceNumber: UInt64,
        connectionID: ConnectionID
    ) throws(DTLSError) -> [UInt8] {
        guard plaintext.count <= Self.maximumPlaintextLength else { throw .plaintextTooLong }
        let innerLength = (plaintext.count + 1 + 15) / 16 * 16
        var record: [UInt8] = []
        record.reserveCapacity(21 + 16 + innerLength)
        record.append(ContentType.connectionID.rawValue)
        record.appendUInt16(DTLSRecord.dtls12)
        record.appendUInt16(epoch)
        record.appendBigEndian(sequenceNumber, bytes: 6)
        record.append(contentsOf: connectionID.bytes)
        record.appendUInt16(UInt16(innerLength + 16))
        let aad = Self.additionalData(
            epoch: epoch,
            sequenceNumber: sequenceNumber,
            type: ContentType.connectionID.rawValue,
            version: DTLSRecord.dtls12,
            connectionID: connectionID,
            length: innerLength
        )
        self.sealFragment(
            plaintext,
            padTo: innerLength,
            type: type.rawValue,
            epoch: epoch,
            sequenceNumber: sequenceNumber,
            aad: aad,
            into: &record
        )
        return record
    }

    /// Authenticates and decrypts a record, returning its real content type and plaintext (the
    /// inner type of a CID record, with the padding removed).
    ///
    /// - Throws: ``DTLSError/authenticationFailed`` (also for a fragment too short to hold the
    ///   nonce and tag), ``DTLSError/invalidInnerPlaintext``, ``DTLSError/unknownContentType``.
    public func open(_ record: DTLSRecord) throws(DTLSError) -> (type: ContentType, plaintext: [UInt8]) {
        let fragment = record.fragment
        guard fragment.count >= Self.explicitNonceLength + Self.tagLength else { throw .authenticationFailed }
        let payloadLength = fragment.count - Self.explicitNonceLength - Self.tagLength
        guard payloadLength <= Self.maximumPlaintextLength + 256 else { throw .recordTooLong }
        let aad = Self.additionalData(
            epoch: record.epoch,
            sequenceNumber: record.sequenceNumber,
            type: record.contentType.authenticatedType,
            version: record.version,
            connectionID: record.connectionID,
            length: payloadLength
        )
        var nonce = self.implicitNonce
        nonce.append(contentsOf: fragment.prefix(Self.explicitNonceLength))
        var plaintext = Array(fragment.dropFirst(Self.explicitNonceLength))
        let valid = plaintext.withUnsafeMutableBytes { buffer in
            nonce.withUnsafeBytes { nonceBytes in
                aad.withUnsafeBytes { aadBytes in
                    self.ccm.openInPlace(
                        nonce: nonceBytes,
                        additionalData: aadBytes,
                        payload: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<payloadLength]),
                        tag: UnsafeRawBufferPointer(rebasing: buffer[payloadLength...])
                    )
                }
            }
        }
        guard valid else { throw .authenticationFailed }
        plaintext.removeLast(Self.tagLength)
        guard record.contentType.carriesConnectionID else {
            return (ContentType(rawValue: record.contentType.authenticatedType)!, plaintext)
        }
        // DTLSInnerPlaintext: the real type is the last non-zero byte.
        guard let last = plaintext.lastIndex(where: { $0 != 0 }) else { throw .invalidInnerPlaintext }
        guard let type = ContentType(rawValue: plaintext[last]), type.rawValue <= 23 else {
            throw .unknownContentType
        }
        plaintext.removeSubrange(last...)
        return (type, plaintext)
    }

    /// The AAD: 13 bytes for plain records, 13 + cid_len + 1 for CID records.
    static func additionalData(
        epoch: UInt16,
        sequenceNumber: UInt64,
        type: UInt8,
        version: UInt16,
        connectionID: ConnectionID?,
        length: Int
    ) -> [UInt8] {
        var aad: [UInt8] = []
        aad.reserveCapacity(22)
        aad.appendUInt16(epoch)
        aad.appendBigEndian(sequenceNumber, bytes: 6)
        aad.append(type)
        aad.appendUInt16(version)
        if let connectionID {
            aad.append(contentsOf: connectionID.bytes)
            aad.append(UInt8(ConnectionID.length))
        }
        aad.appendUInt16(UInt16(length))
        return aad
    }

    /// Appends `explicit_nonce ‖ ciphertext ‖ tag` to `record`. With `padTo`, the plaintext is
    /// followed by `type` and zeros up to `padTo` bytes before encryption.
    private func sealFragment(
        _ plaintext: some Collection<UInt8>,
        padTo: Int?,
        type: UInt8?,
        epoch: UInt16,
        sequenceNumber: UInt64,
        aad: [UInt8],
        into record: inout [UInt8]
    ) {
        let explicitStart = record.count
        record.appendUInt16(epoch)
        record.appendBigEndian(sequenceNumber, bytes: 6)
        var nonce = self.implicitNonce
        nonce.append(contentsOf: record[explicitStart...])
        let payloadStart = record.count
        record.append(contentsOf: plaintext)
        if let padTo, let type {
            record.append(type)
            record.append(contentsOf: repeatElement(0, count: padTo - plaintext.count - 1))
        }
        let payloadEnd = record.count
        record.append(contentsOf: repeatElement(0, count: Self.tagLength))
        record.withUnsafeMutableBytes { buffer in
            nonce.withUnsafeBytes { nonceBytes in
                aad.withUnsafeBytes { aadBytes in
                    self.ccm.sealInPlace(
                        nonce: nonceBytes,
                        additionalData: aadBytes,
                        payload: UnsafeMutableRawBufferPointer(rebasing: buffer[payloadStart..<payloadEnd]),
                        tag: UnsafeMutableRawBufferPointer(rebasing: buffer[payloadEnd...])
                    )
                }
            }
        }
    }

    /// Names the type only; the key is never printed.
    public var description: String { "RecordProtection(<redacted>)" }
}
