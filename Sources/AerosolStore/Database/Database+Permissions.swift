import Foundation
import Logging

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

extension Database {
    /// The files SQLite keeps beside the database: the write-ahead log, its shared-memory
    /// index, and a rollback journal (should one be left from before WAL mode).
    static let companionSuffixes = ["-wal", "-shm", "-journal"]

    /// Makes the database at `path` readable by its owner only (0600), before SQLite opens it.
    ///
    /// SQLite would create the file 0644 (less the umask): any local user could then read
    /// every event, device and webhook. It creates the WAL and shared-memory files with the
    /// database file's own mode, so creating that one 0600 covers all three; a database made
    /// by an older version (0644) and its companions are tightened too. The umask is not
    /// touched: it belongs to the whole process, and other threads create files meanwhile.
    static func restrictPermissions(of path: String, logger: Logger) throws {
        guard let tightened = createOwnerOnly(path) else {
            throw StoreError.unavailable("cannot open the database \(path): \(String(cString: strerror(errno)))")
        }
        var failed = tightened ? [] : [path]
        for companion in companionSuffixes.map({ path + $0 }) where access(companion, F_OK) == 0 {
            if chmod(companion, 0o600) != 0 { failed.append(companion) }
        }
        if !failed.isEmpty {
            // Not fatal: the database still works; the operator should know it is exposed.
            logger.warning(
                "cannot make the database files readable by their owner only",
                metadata: ["db.files": "\(failed.joined(separator: ", "))"]
            )
        }
    }
}

/// Opens `path`, creating it 0600 if missing, and sets its mode to 0600 (the mode given to
/// `open` went through the umask, and an existing file keeps its own). Returns whether the
/// mode could be set, or `nil` if the file cannot be opened. (Outside ``Database``, whose
/// `open` and `close` would hide the system's.)
private func createOwnerOnly(_ path: String) -> Bool? {
    let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
    guard descriptor >= 0 else { return nil }
    defer { close(descriptor) }
    return fchmod(descriptor, 0o600) == 0
}
