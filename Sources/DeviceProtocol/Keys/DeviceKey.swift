import Foundation

/// A device's provisioned public key of either kind. The kind says which protocol the device
/// can use: RSA for TCP (port 5683), EC P-256 for UDP/DTLS (port 5684).
public enum DeviceKey: Hashable, Sendable {
    /// An RSA key: a TCP device (Photon, Electron on TCP, P1).
    case rsa(DevicePublicKey)
    /// An EC P-256 key: a UDP device (Gen3, Gen4).
    case ecc(ECDevicePublicKey)

    /// The algorithm's name in Particle's provisioning API (`rsa` or `ecc`).
    public var algorithm: String {
        switch self {
        case .rsa: "rsa"
        case .ecc: "ecc"
        }
    }

    /// The protocol a device with this key speaks (`tcp` or `udp`).
    public var transport: String {
        switch self {
        case .rsa: "tcp"
        case .ecc: "udp"
        }
    }

    /// PEM (`BEGIN PUBLIC KEY`) of the SubjectPublicKeyInfo, as stored.
    public var pemRepresentation: String {
        switch self {
        case .rsa(let key): key.pemRepresentation
        case .ecc(let key): key.pemRepresentation
        }
    }

    /// Parses a stored or uploaded public key: PEM, DER, or the base64 of a DER, of the given
    /// algorithm (`rsa`, `ecc`), or of whichever it is when `algorithm` is `nil`.
    ///
    /// - Throws: ``DeviceProtocolError/invalidDeviceKey``.
    public init(publicKey text: String, algorithm: String? = nil) throws(DeviceProtocolError) {
        let der: Data
        if text.contains("-----BEGIN") {
            guard text.contains("PUBLIC KEY-----"), let decoded = Data(base64Encoded: ECDevicePublicKey.pemBody(text))
            else { throw .invalidDeviceKey }
            der = decoded
        } else if let decoded = Data(base64Encoded: ECDevicePublicKey.pemBody(text)) {
            der = decoded
        } else {
            throw .invalidDeviceKey
        }
        try self.init(der: der, algorithm: algorithm)
    }

    /// Parses a DER public key (SubjectPublicKeyInfo; PKCS#1 for RSA) of the given algorithm, or
    /// of whichever it is when `algorithm` is `nil`.
    public init(der: some DataProtocol, algorithm: String? = nil) throws(DeviceProtocolError) {
        let wanted = algorithm?.lowercased()
        if wanted == nil || wanted == "ecc" || wanted == "ec", let key = try? ECDevicePublicKey(derRepresentation: der)
        {
            self = .ecc(key)
        } else if wanted == nil || wanted == "rsa", let key = try? DevicePublicKey(derRepresentation: der) {
            self = .rsa(key)
        } else {
            throw .invalidDeviceKey
        }
    }
}
