import AerosolStore
import Crypto
import DeviceProtocol
import Foundation

/// The data-directory files that every node on one database must share, and the check that they
/// do. They stay files rather than rows: the secret seals what the database holds, so a copy of
/// the database alone (a dump, a backup, a replica) must not carry it; the device keys are what
/// devices were provisioned with, and live beside it for the same reason.
enum NodeFiles {
    /// On PostgreSQL, records the fingerprints of this node's secret and keys when it is the
    /// database's first, else checks them against the first node's; a mismatch names the file
    /// to copy. (SQLite's database lives in the data directory beside its files: nothing to
    /// agree on, and a key replaced on purpose stays the operator's choice.)
    static func check(
        database: Database,
        secret: ServerSecret,
        serverKey: ServerKey,
        udpServerKey: ECServerKey,
        files: DataDirectory
    ) async throws {
        guard database.engine == .postgres else { return }
        let agreement = NodeAgreement(database: database)
        let secretCode = secret.authenticationCode(for: "node-agreement", purpose: "node-agreement")
        let udpKey = Array(udpServerKey.signingKey.publicKey.derRepresentation)
        let checks: [(name: String, fingerprint: String, path: String)] = [
            ("server-secret", secretCode, files.secretPath),
            ("server-key", fingerprint(serverKey.publicKeyDER), files.serverKeyPath),
            ("server-key-ec", fingerprint(udpKey), files.udpServerKeyPath),
        ]
        for check in checks {
            try await agreement.agree(
                on: check.name,
                fingerprint: check.fingerprint,
                mismatch: "\(check.path) differs from the one the database's first node uses: every node on one "
                    + "database needs the same server-secret.key, server-key.pem and server-key-ec.pem "
                    + "(copy them from the first node's data directory)"
            )
        }
    }

    /// This node's id, kept in its data directory so that after a restart it finds (and marks
    /// offline) the devices it held before; created at random on first start. Unlike the
    /// three shared files, each node has its own.
    static func nodeID(in files: DataDirectory) throws -> String {
        if let text = try? String(contentsOfFile: files.nodeIDPath, encoding: .utf8) {
            let id = text.trimmingCharacters(in: .whitespacesAndNewlines)
            if id.count == 16, id.allSatisfy(\.isHexDigit) { return id }
        }
        let id = (0..<8).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
        guard FileManager.default.createFile(atPath: files.nodeIDPath, contents: Data((id + "\n").utf8)) else {
            throw StoreError.unavailable("cannot write \(files.nodeIDPath)")
        }
        return id
    }

    private static func fingerprint(_ bytes: [UInt8]) -> String {
        SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
    }
}
