/// A parsed ClientHello body (RFC 5246 §7.4.1.2 with the DTLS cookie, RFC 6347 §4.2.1).
///
/// A Device OS ≥ 3.1 ClientHello (mbedTLS `ssl_write_client_hello`) is, after the cookie:
/// cipher suites `c0 ae 00 ff`, compression `01 00`, then 45 bytes of extensions:
/// signature_algorithms (13), supported_groups (10), ec_point_formats (11), connection_id (254,
/// own CID length 0), client_certificate_type (19) and server_certificate_type (20), both
/// `[RawPublicKey]`. Before 3.1 the connection_id extension is absent.
struct ClientHello: Sendable {
    var clientVersion: UInt16
    var random: ArraySlice<UInt8>
    var sessionID: ArraySlice<UInt8>
    var cookie: ArraySlice<UInt8>
    var cipherSuites: ArraySlice<UInt8>
    var compressionMethods: ArraySlice<UInt8>
    var extensions: [(type: UInt16, data: ArraySlice<UInt8>)]

    static let cipherSuite: UInt16 = 0xC0AE  // TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8
    static let renegotiationSCSV: UInt16 = 0x00FF
    static let signatureAlgorithmsExtension: UInt16 = 13
    static let supportedGroupsExtension: UInt16 = 10
    static let pointFormatsExtension: UInt16 = 11
    /// The draft connection ID extension number in mbedTLS 2.22 (`MBEDTLS_TLS_EXT_CID`); RFC 9146
    /// later assigned 54, which Device OS does not use.
    static let connectionIDExtension: UInt16 = 254
    static let clientCertificateTypeExtension: UInt16 = 19
    static let serverCertificateTypeExtension: UInt16 = 20
    static let renegotiationInfoExtension: UInt16 = 0xFF01
    static let rawPublicKey: UInt8 = 2

    init(body: ArraySlice<UInt8>) throws(DTLSError) {
        var reader = ByteReader(body, error: .malformedClientHello)
        self.clientVersion = try reader.readUInt16()
        self.random = try reader.readBytes(32)
        self.sessionID = try reader.readVector8()
        guard self.sessionID.count <= 32 else { throw .malformedClientHello }
        self.cookie = try reader.readVector8()
        self.cipherSuites = try reader.readVector16()
        guard !self.cipherSuites.isEmpty, self.cipherSuites.count.isMultiple(of: 2) else { throw .malformedClientHello }
        self.compressionMethods = try reader.readVector8()
        guard !self.compressionMethods.isEmpty else { throw .malformedClientHello }
        self.extensions = []
        if !reader.isAtEnd {
            var extensions = ByteReader(try reader.readVector16(), error: .malformedClientHello)
            while !extensions.isAtEnd {
                let type = try extensions.readUInt16()
                let data = try extensions.readVector16()
                guard !self.extensions.contains(where: { $0.type == type }) else { throw .duplicateExtension }
                self.extensions.append((type, data))
            }
        }
        try reader.expectEnd()
    }

    /// What the ServerHello must say, given what the client offered.
    struct Negotiation: Sendable {
        /// Issue a connection ID (the client sent the extension: Device OS ≥ 3.1).
        var connectionID = false
        /// Answer renegotiation_info (the client sent the SCSV or the extension, RFC 5746 §3.6).
        var renegotiationInfo = false
        /// Answer ec_point_formats (the client sent it, RFC 8422 §5.2).
        var pointFormats = false
        /// Answer server_certificate_type (the client sent it, RFC 7250 §4.2).
        var serverCertificateType = false
    }

    /// Checks that the client can do the one suite this server speaks and returns what to echo.
    ///
    /// - Throws: the reason it cannot, with ``alertCode(for:)`` telling which alert to send.
    func negotiate() throws(DTLSError) -> Negotiation {
        // DTLS versions count down: fe ff = 1.0, fe fd = 1.2 (fe fc would be 1.3's legacy value).
        guard self.clientVersion >> 8 == 0xFE, self.clientVersion <= DTLSRecord.dtls12 else {
            throw .unsupportedProtocolVersion
        }
        var negotiation = Negotiation()
        let suites = stride(from: self.cipherSuites.startIndex, to: self.cipherSuites.endIndex, by: 2).map {
            UInt16(self.cipherSuites[$0]) << 8 | UInt16(self.cipherSuites[$0 + 1])
        }
        guard suites.contains(Self.cipherSuite) else { throw .noCommonCipherSuite }
        negotiation.renegotiationInfo = suites.contains(Self.renegotiationSCSV)
        guard self.compressionMethods.contains(0) else { throw .noNullCompression }
        var rawPublicKeyOffered = false
        for (type, data) in self.extensions {
            var reader = ByteReader(data, error: .malformedClientHello)
            switch type {
            case Self.signatureAlgorithmsExtension:
                let list = try reader.readVector16()
                try reader.expectEnd()
                guard Self.pairs(list).contains(0x0403) else { throw .noCommonSignatureAlgorithm }
            case Self.supportedGroupsExtension:
                let list = try reader.readVector16()
                try reader.expectEnd()
                guard Self.pairs(list).contains(0x0017) else { throw .noCommonCurve }
            case Self.pointFormatsExtension:
                let list = try reader.readVector8()
                try reader.expectEnd()
                guard list.contains(0) else { throw .noCommonCurve }
                negotiation.pointFormats = true
            case Self.connectionIDExtension:
                let own = try reader.readVector8()
                try reader.expectEnd()
                // The device wants no CID on the records it receives (`MBEDTLS_SSL_CID_IN_LEN_MAX
                // 0`); records to a client that asked for one would need a CID this server never
                // puts on its records.
                guard own.isEmpty else { throw .unsupportedConnectionID }
                negotiation.connectionID = true
            case Self.clientCertificateTypeExtension:
                let list = try reader.readVector8()
                try reader.expectEnd()
                rawPublicKeyOffered = list.contains(Self.rawPublicKey)
            case Self.serverCertificateTypeExtension:
                let list = try reader.readVector8()
                try reader.expectEnd()
                guard list.contains(Self.rawPublicKey) else { throw .rawPublicKeyNotOffered }
                negotiation.serverCertificateType = true
            case Self.renegotiationInfoExtension:
                // An initial handshake carries an empty renegotiated_connection.
                guard data.elementsEqual([0]) else { throw .malformedClientHello }
                negotiation.renegotiationInfo = true
            default:
                continue  // extended_master_secret, encrypt_then_mac, …: not chosen, so not echoed
            }
        }
        guard rawPublicKeyOffered else { throw .rawPublicKeyNotOffered }
        return negotiation
    }

    /// The alert a refused ClientHello is answered with.
    static func alertCode(for error: DTLSError) -> UInt8 {
        switch error {
        case .unsupportedProtocolVersion: Alert.protocolVersionCode
        case .malformedClientHello, .duplicateExtension: Alert.decodeErrorCode
        case .rawPublicKeyNotOffered: Alert.unsupportedCertificateCode
        default: Alert.handshakeFailureCode
        }
    }

    private static func pairs(_ list: ArraySlice<UInt8>) -> [UInt16] {
        stride(from: list.startIndex, to: list.endIndex - 1, by: 2).map {
            UInt16(list[$0]) << 8 | UInt16(list[$0 + 1])
        }
    }
}
