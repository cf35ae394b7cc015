import DeviceProtocol
import Foundation

/// The server's EC P-256 key for UDP devices in its PEM file (mode 0600) in the data directory.
public enum ECServerKeyFile {
    /// Reads the key at `path`, creating a new one (mode 0600) if the file does not exist.
    public static func loadOrCreate(at path: String) throws -> ECServerKey {
        if FileManager.default.fileExists(atPath: path) {
            return try load(at: path)
        }
        let key = ECServerKey.generate()
        // Created with 0600 from the start, so the key is never readable by others; O_EXCL makes
        // a concurrent creator lose cleanly instead of overwriting.
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard descriptor >= 0 else {
            if errno == EEXIST { return try load(at: path) }
            throw GatewayError.invalidServerKeyFile("cannot create the UDP server key at \(path)")
        }
        let handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
        try handle.write(contentsOf: Data(key.pemRepresentation.utf8))
        try handle.synchronize()
        try handle.close()
        return key
    }

    /// Reads the PEM key at `path`.
    public static func load(at path: String) throws -> ECServerKey {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw GatewayError.invalidServerKeyFile("cannot read the UDP server key at \(path)")
        }
        do {
            return try ECServerKey(pemRepresentation: text)
        } catch {
            throw GatewayError.invalidServerKeyFile("the UDP server key at \(path) is not an EC P-256 private key")
        }
    }
}
