import AerosolStore
import Foundation

/// The data directory's layout: the SQLite database and the server secret, created on first use.
public struct DataDirectory: Sendable {
    /// The directory.
    public let path: String
    /// `aerosol.sqlite` inside it.
    public var databasePath: String { path + "/aerosol.sqlite" }
    /// `server-secret.key` inside it (mode 0600).
    public var secretPath: String { path + "/server-secret.key" }
    /// `server-key.pem` inside it: the device gateway's RSA-2048 private key (mode 0600).
    public var serverKeyPath: String { path + "/server-key.pem" }
    /// `server-key-ec.pem` inside it: the UDP device gateway's EC P-256 private key (mode 0600).
    public var udpServerKeyPath: String { path + "/server-key-ec.pem" }

    /// Uses (creating if missing, mode 0700) the directory at `path`.
    public init(path: String) throws {
        let url = URL(fileURLWithPath: path).standardizedFileURL
        self.path = url.path
        do {
            try FileManager.default.createDirectory(
                atPath: self.path,
                withIntermediateDirectories: true,
                attributes: [.posixPermissions: 0o700]
            )
        } catch {
            throw StoreError.unavailable("cannot create the data directory \(self.path): \(error.localizedDescription)")
        }
    }
}
