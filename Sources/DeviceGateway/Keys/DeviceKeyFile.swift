import DeviceProtocol
import Foundation

/// Reading device keys from files, in whatever form people have them.
public enum DeviceKeyFile {
    /// The public key in `bytes`: a PEM or DER public key, or a PEM or DER private key (such as
    /// the `device_key.der` a device stores), whose public half is taken.
    public static func publicKey(from bytes: some DataProtocol) throws -> DevicePublicKey {
        let data = Data(bytes)
        if let text = String(data: data, encoding: .utf8), text.contains("-----BEGIN") {
            if text.contains("PUBLIC KEY-----"), let key = try? DevicePublicKey(pemRepresentation: text) {
                return key
            }
        } else if let key = try? DevicePublicKey(derRepresentation: data) {
            return key
        }
        // A private key: its public half.
        do {
            return try DevicePublicKey(privateKey: data)
        } catch {
            throw GatewayError.invalidKeyFile("not an RSA public or private key (PEM or DER)")
        }
    }

    /// The public key in `bytes` of either kind: an EC P-256 key (a UDP device) or an RSA key
    /// (a TCP device), public or private, PEM or DER; the private key's public half is taken.
    public static func deviceKey(from bytes: some DataProtocol) throws -> DeviceKey {
        let data = Data(bytes)
        if let text = String(data: data, encoding: .utf8), text.contains("-----BEGIN") {
            if text.contains("PUBLIC KEY-----"), let key = try? DeviceKey(publicKey: text) {
                return key
            }
        } else if let key = try? DeviceKey(der: data) {
            return key
        }
        if let key = try? ECDevicePublicKey(privateKey: data) {
            return .ecc(key)
        }
        do {
            return .rsa(try publicKey(from: data))
        } catch {
            throw GatewayError.invalidKeyFile("not an EC P-256 or RSA public or private key (PEM or DER)")
        }
    }

    /// Reads the key of either kind in the file at `path` (see ``deviceKey(from:)``).
    public static func deviceKey(atPath path: String) throws -> DeviceKey {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw GatewayError.invalidKeyFile("cannot read \(path)")
        }
        return try deviceKey(from: data)
    }

    /// Reads the public key in the file at `path` (see ``publicKey(from:)``).
    public static func publicKey(atPath path: String) throws -> DevicePublicKey {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw GatewayError.invalidKeyFile("cannot read \(path)")
        }
        return try publicKey(from: data)
    }

    /// The server's public key DER from a file holding either the server key blob (as
    /// `aerosol keys server` writes it), a bare SubjectPublicKeyInfo DER, or a PEM public key.
    public static func serverPublicKeyDER(atPath path: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw GatewayError.invalidServerKeyFile("cannot read \(path)")
        }
        let bytes = [UInt8](data)
        if let text = String(data: data, encoding: .utf8), text.contains("-----BEGIN") {
            guard let key = try? DevicePublicKey(pemRepresentation: text) else {
                throw GatewayError.invalidServerKeyFile("\(path) is not a PEM public key")
            }
            return key.derRepresentation
        }
        let candidate = bytes.count > 294 ? Array(bytes.prefix(294)) : bytes
        guard let key = try? DevicePublicKey(derRepresentation: candidate), key.modulusByteCount == 256 else {
            throw GatewayError.invalidServerKeyFile("\(path) is not a server key blob or an RSA-2048 public key")
        }
        return key.derRepresentation
    }
}
