import AerosolStore
import Foundation

/// The data directory's layout: the SQLite database and the server secret, created on first use.
///
/// Opening one checks it first, so that a directory the server cannot use is reported in one
/// line naming the path and what is wrong with it (does not exist, is not a directory, is not
/// writable) rather than as a file system or SQLite error code.
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
    /// This node's id on a shared PostgreSQL database (its own: never copied to another node).
    public var nodeIDPath: String { path + "/node-id" }

    /// Uses the directory at `path`, creating it (mode 0700, with its parents) if missing and
    /// `create` is true; throws ``StoreError/unavailable(_:)`` with a one-line reason when the
    /// directory, or a file of the server's in it, cannot be used.
    public init(path: String, create: Bool = true) throws {
        let url = URL(fileURLWithPath: path).standardizedFileURL
        self.path = url.path
        let files = FileManager.default
        var isDirectory: ObjCBool = false
        if files.fileExists(atPath: self.path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else {
                throw StoreError.unavailable("the data directory \(self.path) is not a directory")
            }
        } else if create {
            do {
                try files.createDirectory(
                    atPath: self.path,
                    withIntermediateDirectories: true,
                    attributes: [.posixPermissions: 0o700]
                )
            } catch {
                throw StoreError.unavailable(
                    "cannot create the data directory \(self.path): \(Self.obstacle(self.path))"
                )
            }
        } else {
            throw StoreError.unavailable("the data directory \(self.path) does not exist")
        }
        guard access(self.path, R_OK | W_OK | X_OK) == 0 else {
            throw StoreError.unavailable("the data directory \(self.path) is not writable by this user")
        }
        for file in [databasePath, databasePath + "-wal", databasePath + "-shm", secretPath, serverKeyPath]
        where files.fileExists(atPath: file) && access(file, R_OK | W_OK) != 0 {
            throw StoreError.unavailable("\(file) is not readable and writable by this user")
        }
    }

    /// Why a directory could not be made at `path`: what its nearest existing ancestor is, or
    /// what the system says when asked to make the first missing directory in it.
    private static func obstacle(_ path: String) -> String {
        var missing = URL(fileURLWithPath: path)
        var ancestor = missing.deletingLastPathComponent()
        var isDirectory: ObjCBool = false
        while ancestor.path != "/", !FileManager.default.fileExists(atPath: ancestor.path, isDirectory: &isDirectory) {
            missing = ancestor
            ancestor.deleteLastPathComponent()
        }
        if ancestor.path == "/" { isDirectory = true }
        if !isDirectory.boolValue { return "\(ancestor.path) is not a directory" }
        if access(ancestor.path, W_OK | X_OK) != 0 { return "\(ancestor.path) is not writable by this user" }
        guard mkdir(missing.path, 0o700) == 0 else { return String(cString: strerror(errno)).lowercased() }
        rmdir(missing.path)
        return "the file system refused it"
    }
}
