/// An error of the Particle TCP device protocol: keys, handshake, framing or message payloads.
///
/// Descriptions name the failure only; they never contain key material or decrypted bytes, so
/// they are safe to log next to the device ID.
public struct DeviceProtocolError: Error, Hashable, Sendable, CustomStringConvertible {
    private enum Code: Hashable, Sendable {
        case invalidServerKey
        case invalidDeviceKey
        case invalidAddress
        case handshakeDecryptionFailed
        case handshakePlaintextSize
        case nonceMismatch
        case unknownDevice
        case deviceKeyMismatch
        case signatureFailed
        case unexpectedInput
        case invalidSessionKeys
        case invalidFrameLength
        case frameTooLong
        case decryptionFailed
        case encryptionFailed
        case invalidHello
        case invalidDescribe
        case invalidVariableValue
    }

    private let code: Code

    private init(_ code: Code) {
        self.code = code
    }

    /// The server key is not an RSA-2048 private key in PKCS#1 or PKCS#8 DER/PEM.
    public static let invalidServerKey = DeviceProtocolError(.invalidServerKey)
    /// A device public key is not an RSA-1024 (or larger) public key in SPKI DER/PEM.
    public static let invalidDeviceKey = DeviceProtocolError(.invalidDeviceKey)
    /// A server address does not fit the key blob (IPv4 or a host name of 1–63 bytes).
    public static let invalidAddress = DeviceProtocolError(.invalidAddress)
    /// The device's 256-byte handshake block did not decrypt with PKCS#1 v1.5.
    public static let handshakeDecryptionFailed = DeviceProtocolError(.handshakeDecryptionFailed)
    /// The decrypted handshake block is neither 214 nor 52 bytes long.
    public static let handshakePlaintextSize = DeviceProtocolError(.handshakePlaintextSize)
    /// The decrypted handshake block does not start with the server's nonce.
    public static let nonceMismatch = DeviceProtocolError(.nonceMismatch)
    /// No public key is known for the device and none was accepted.
    public static let unknownDevice = DeviceProtocolError(.unknownDevice)
    /// The device presented a public key other than the one on file.
    public static let deviceKeyMismatch = DeviceProtocolError(.deviceKeyMismatch)
    /// The raw RSA signature could not be produced or did not verify.
    public static let signatureFailed = DeviceProtocolError(.signatureFailed)
    /// Input arrived that the handshake does not expect in its current state.
    public static let unexpectedInput = DeviceProtocolError(.unexpectedInput)
    /// Session key material is not 40 bytes.
    public static let invalidSessionKeys = DeviceProtocolError(.invalidSessionKeys)
    /// A frame length is zero or not a multiple of the AES block size.
    public static let invalidFrameLength = DeviceProtocolError(.invalidFrameLength)
    /// A frame is longer than the configured maximum, or a message too long to frame.
    public static let frameTooLong = DeviceProtocolError(.frameTooLong)
    /// A frame did not decrypt (wrong key, IV or PKCS#7 padding).
    public static let decryptionFailed = DeviceProtocolError(.decryptionFailed)
    /// A message could not be encrypted.
    public static let encryptionFailed = DeviceProtocolError(.encryptionFailed)
    /// A Hello payload is shorter than 6 bytes or its device ID is cut off.
    public static let invalidHello = DeviceProtocolError(.invalidHello)
    /// A Describe payload is not the JSON the device protocol specifies.
    public static let invalidDescribe = DeviceProtocolError(.invalidDescribe)
    /// A variable value does not have the length its type requires.
    public static let invalidVariableValue = DeviceProtocolError(.invalidVariableValue)

    /// A short description without any key material.
    public var description: String {
        switch self.code {
        case .invalidServerKey: "invalid server key"
        case .invalidDeviceKey: "invalid device public key"
        case .invalidAddress: "invalid server address"
        case .handshakeDecryptionFailed: "handshake block did not decrypt"
        case .handshakePlaintextSize: "handshake plaintext has the wrong size"
        case .nonceMismatch: "handshake nonce mismatch"
        case .unknownDevice: "unknown device"
        case .deviceKeyMismatch: "device public key does not match the provisioned key"
        case .signatureFailed: "handshake signature failed"
        case .unexpectedInput: "unexpected input during handshake"
        case .invalidSessionKeys: "invalid session key material"
        case .invalidFrameLength: "invalid frame length"
        case .frameTooLong: "frame too long"
        case .decryptionFailed: "frame did not decrypt"
        case .encryptionFailed: "message did not encrypt"
        case .invalidHello: "invalid Hello payload"
        case .invalidDescribe: "invalid Describe payload"
        case .invalidVariableValue: "invalid variable value"
        }
    }
}
