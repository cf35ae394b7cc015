import AerosolModels
import Crypto
import Foundation
import SQLKit

/// Firmware binaries by the lowercase hex SHA-256 of their bytes: the product releases, and a
/// file flashed through a node that does not hold the device's connection.
///
/// Each node keeps the files it uses in its data directory (`firmware/<sha256>.bin`). On
/// PostgreSQL the database holds every binary too, so that a release uploaded through one node is
/// flashed by whichever node a device connects to: a node that lacks a file fetches it once and
/// keeps it. On SQLite the data directory's file is the only copy, as it always was.
public struct FirmwareFileStore: Sendable {
    private let database: Database?
    /// The directory of the files (`<data dir>/firmware`).
    public let directory: String

    /// The store of `database` (`nil`: files only), with files in `directory`.
    public init(database: Database?, directory: String) {
        self.database = database
        self.directory = directory
    }

    /// Whether binaries are shared through the database.
    private var sharing: Database? { database?.engine == .postgres ? database : nil }

    /// Where the binary `sha256` is kept on this node.
    public func localPath(_ sha256: String) -> String { directory + "/" + sha256 + ".bin" }

    /// Makes the kept file `sha256` (already in ``directory``) available to every node.
    public func share(_ sha256: String) async throws {
        guard sharing != nil else { return }
        guard let bytes = FileManager.default.contents(atPath: localPath(sha256)) else {
            throw StoreError.notFound("firmware file \(sha256)")
        }
        try await share(bytes, sha256: sha256)
    }

    /// Stores `bytes` under `sha256` for every node (nothing on SQLite).
    public func share(_ bytes: Data, sha256: String) async throws {
        guard let database = sharing else { return }
        let now = Timestamp.milliseconds(Date())
        try await database.write { sql in
            try await sql.raw(
                """
                INSERT INTO firmware_files (sha256, bytes, stored_at) VALUES (\(bind: sha256), \(bind: bytes), \(bind: now))
                ON CONFLICT (sha256) DO UPDATE SET stored_at = excluded.stored_at
                """
            ).run()
        }
    }

    /// The path of the binary `sha256` on this node, fetched from the database first if this
    /// node does not have it.
    ///
    /// - Throws: ``StoreError/notFound(_:)`` when no node stored it.
    public func path(_ sha256: String) async throws -> String {
        let path = localPath(sha256)
        if FileManager.default.fileExists(atPath: path) { return path }
        let bytes = try await bytes(sha256)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        // Written aside and renamed: a node never reads half a file another task is writing.
        let partial = path + ".\(UUID().uuidString).partial"
        guard FileManager.default.createFile(atPath: partial, contents: bytes) else {
            throw StoreError.unavailable("cannot write \(partial)")
        }
        guard rename(partial, path) == 0 else {
            try? FileManager.default.removeItem(atPath: partial)
            throw StoreError.unavailable("cannot write \(path)")
        }
        return path
    }

    /// The bytes of the binary `sha256` from the database, checked against their digest.
    ///
    /// - Throws: ``StoreError/notFound(_:)`` when the database does not have it.
    public func bytes(_ sha256: String) async throws -> Data {
        guard let database = sharing,
            let bytes = try await database.sql.raw(
                "SELECT bytes FROM firmware_files WHERE sha256 = \(bind: sha256)"
            ).first()?.decode(column: "bytes", as: Data.self)
        else { throw StoreError.notFound("firmware file \(sha256)") }
        guard Self.digest(bytes) == sha256 else {
            throw StoreError.invalid("firmware file \(sha256) is damaged in the database")
        }
        return bytes
    }

    /// Removes the binary `sha256` from the database unless a product release uses it (a
    /// release was deleted).
    public func discard(_ sha256: String) async throws {
        guard let database = sharing else { return }
        try await database.write { sql in
            try await sql.raw(
                """
                DELETE FROM firmware_files WHERE sha256 = \(bind: sha256)
                AND NOT EXISTS (SELECT 1 FROM product_firmware WHERE file_sha256 = \(bind: sha256))
                """
            ).run()
        }
    }

    /// Removes the binaries stored more than `age` ago that no product release uses: files
    /// flashed through another node, which that node read when the update started. Not at once:
    /// the same file may be on its way to other devices (a script flashing a fleet).
    public func sweep(olderThan age: Duration) async throws {
        guard let database = sharing else { return }
        let cutoff = Timestamp.milliseconds(Date().addingTimeInterval(-Double(age.components.seconds)))
        try await database.write { sql in
            try await sql.raw(
                """
                DELETE FROM firmware_files WHERE stored_at < \(bind: cutoff)
                AND NOT EXISTS (SELECT 1 FROM product_firmware WHERE file_sha256 = firmware_files.sha256)
                """
            ).run()
        }
    }

    /// The lowercase hex SHA-256 of `bytes`.
    public static func digest(_ bytes: some DataProtocol) -> String {
        SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
    }
}
