import Foundation
import Logging

/// `aerosol backup` and `aerosol restore`: a whole data directory in one file, taken while the
/// server runs and takes writes.
///
/// The file is a `ustar` archive (`tar -tf` lists it) holding a consistent snapshot of the
/// database (``Database/snapshot(of:to:logger:)``) as `aerosol.sqlite`, and every other file of
/// the data directory as it is — the server secret, the server keys, anything else kept there.
/// The database's `-wal` and `-shm` files are not copied: the snapshot already holds what they
/// did. The backup holds the secret that unseals webhook definitions and signs sessions: it is
/// written 0600 and must be kept like the data directory.
public enum DataBackup {
    /// The database file's name in a data directory and in a backup.
    public static let databaseName = "aerosol.sqlite"

    /// Writes the backup of `directory` to `output` (which must not exist); returns the names
    /// archived.
    @discardableResult
    public static func backup(directory: String, to output: String, logger: Logger) async throws -> [String] {
        guard !FileManager.default.fileExists(atPath: output) else {
            throw StoreError.invalid("\(output) exists already: name a new file")
        }
        let database = directory + "/" + databaseName
        let staging = output + ".db-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: staging) }
        // The database first: the other files (the secret, the keys) do not change once made.
        try await Database.snapshot(of: database, to: staging, logger: logger)
        guard FileManager.default.createFile(atPath: output, contents: nil, attributes: [.posixPermissions: 0o600]),
            let handle = FileHandle(forWritingAtPath: output)
        else { throw StoreError.invalid("cannot write \(output)") }
        var names = [databaseName]
        do {
            defer { try? handle.close() }
            try TarArchive.append(file: staging, as: databaseName, to: handle)
            for name in try files(in: directory)
            where name != databaseName && name != databaseName + "-wal" && name != databaseName + "-shm" {
                try TarArchive.append(file: directory + "/" + name, as: name, to: handle)
                names.append(name)
            }
            try TarArchive.finish(handle)
            try handle.synchronize()
        } catch {
            try? FileManager.default.removeItem(atPath: output)
            throw error
        }
        return names
    }

    /// Unpacks the backup `input` into `directory`, which must be empty or missing unless
    /// `replacing` (its files are then removed first); returns the names restored.
    @discardableResult
    public static func restore(from inputPath: String, into directory: String, replacing: Bool) throws -> [String] {
        guard let input = FileHandle(forReadingAtPath: inputPath) else {
            throw StoreError.invalid("cannot read \(inputPath)")
        }
        defer { try? input.close() }
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { throw StoreError.invalid("\(directory) is not a directory") }
            let existing = try FileManager.default.contentsOfDirectory(atPath: directory)
            if !existing.isEmpty {
                guard replacing else {
                    throw StoreError.invalid(
                        "\(directory) is not empty: restore into a new directory, or pass --force to replace what it holds"
                    )
                }
                for name in existing { try FileManager.default.removeItem(atPath: directory + "/" + name) }
            }
        }
        try FileManager.default.createDirectory(
            atPath: directory,
            withIntermediateDirectories: true,
            attributes: [.posixPermissions: 0o700]
        )
        let names = try TarArchive.read(input) { name in
            let path = directory + "/" + name
            try FileManager.default.createDirectory(
                atPath: (path as NSString).deletingLastPathComponent,
                withIntermediateDirectories: true,
                attributes: [.posixPermissions: 0o700]
            )
            guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]),
                let handle = FileHandle(forWritingAtPath: path)
            else { throw StoreError.invalid("cannot write \(path)") }
            return handle
        }
        guard names.contains(databaseName) else {
            for name in names { try? FileManager.default.removeItem(atPath: directory + "/" + name) }
            throw StoreError.invalid("\(inputPath) is not an Aerosol backup (it holds no \(databaseName))")
        }
        return names
    }

    /// The regular files under `directory`, as relative paths, sorted.
    static func files(in directory: String) throws -> [String] {
        guard let walker = FileManager.default.enumerator(atPath: directory) else {
            throw StoreError.invalid("cannot read \(directory)")
        }
        var names: [String] = []
        while let name = walker.nextObject() as? String {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: directory + "/" + name, isDirectory: &isDirectory),
                !isDirectory.boolValue
            {
                names.append(name)
            }
        }
        return names.sorted()
    }

}
