// swift-crypto 3.12.3 does not mark its keys and digests Sendable, though they are
// immutable values (or copy-on-write, for SHA256); the module has no strict concurrency.
@preconcurrency import Crypto

extension DTLSHandshake {
    /// HelloVerifyRequest: `server_version ‖ cookie<0..255>`. RFC 6347 §4.2.1 asks for DTLS 1.0
    /// (`fe ff`) here whatever version follows; the device accepts either.
    static func helloVerifyRequestBody(cookie: [UInt8]) -> [UInt8] {
        [0xFE, 0xFF, UInt8(cookie.count)] + cookie
    }

    /// ServerHello with exactly the extensions a Particle device needs, in mbedTLS's order:
    /// renegotiation_info and ec_point_formats when offered, the 8-byte connection_id (254) when
    /// offered (Device OS ≥ 3.1 aborts without it; older devices reject it unsolicited), and
    /// the certificate types as one byte each, RawPublicKey (mbedTLS `ssl_parse_client_cert_ext`
    /// rejects any other length; without client_certificate_type the device sends X.509).
    /// Empty session ID: the device never resumes by session ID.
    static func serverHelloBody(
        random: [UInt8],
        negotiation: ClientHello.Negotiation,
        connectionID: ConnectionID?
    ) -> [UInt8] {
        var extensions: [UInt8] = []
        if negotiation.renegotiationInfo {
            extensions += [0xFF, 0x01, 0x00, 0x01, 0x00]
        }
        if negotiation.pointFormats {
            extensions += [0x00, 0x0B, 0x00, 0x02, 0x01, 0x00]
        }
        if let connectionID {
            extensions += [0x00, 0xFE, 0x00, 0x09, 0x08] + connectionID.bytes
        }
        extensions += [0x00, 0x13, 0x00, 0x01, ClientHello.rawPublicKey]
        if negotiation.serverCertificateType {
            extensions += [0x00, 0x14, 0x00, 0x01, ClientHello.rawPublicKey]
        }
        var body: [UInt8] = [0xFE, 0xFD]
        body += random
        body += [0x00, 0xC0, 0xAE, 0x00]
        body.appendUInt16(UInt16(extensions.count))
        body += extensions
        return body
    }

    /// ServerKeyExchange (RFC 8422 §5.4): `03 00 17 41 <point:65>` (named_curve secp256r1) and
    /// an ECDSA-SHA256 signature (`04 03 <len:2> <DER>`) by the long-term key over
    /// `client_random ‖ server_random ‖ params`.
    static func serverKeyExchangeBody(
        ephemeralPublicKey: P256.KeyAgreement.PublicKey,
        clientRandom: some Collection<UInt8>,
        serverRandom: [UInt8],
        serverKey: P256.Signing.PrivateKey
    ) throws(DTLSError) -> [UInt8] {
        var params: [UInt8] = [0x03, 0x00, 0x17, 0x41]
        params += ephemeralPublicKey.x963Representation
        var signed = Array(clientRandom)
        signed += serverRandom
        signed += params
        let signature: [UInt8]
        do {
            signature = Array(try serverKey.signature(for: signed).derRepresentation)
        } catch {
            throw .invalidCipherParameters
        }
        var body = params
        body += [0x04, 0x03]
        body.appendUInt16(UInt16(signature.count))
        body += signature
        return body
    }

    /// CertificateRequest in the minimal form the device accepts (mbedTLS
    /// `ssl_parse_certificate_request` checks only lengths): certificate type ecdsa_sign (64),
    /// signature algorithm ecdsa_secp256r1_sha256, no authorities. Without it the device never
    /// sends its key.
    static let certificateRequestBody: [UInt8] = [0x01, 0x40, 0x00, 0x02, 0x04, 0x03, 0x00, 0x00]

    /// A plaintext epoch-0 alert record.
    static func alertRecord(_ alert: Alert, sequenceNumber: UInt64) -> [UInt8] {
        var record: [UInt8] = []
        DTLSRecord.encode(type: .alert, epoch: 0, sequenceNumber: sequenceNumber, fragment: alert.bytes, into: &record)
        return record
    }
}
