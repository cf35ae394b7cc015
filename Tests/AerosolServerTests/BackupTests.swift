import AerosolStore
import AerosolTesting
import Foundation
import Logging
import Synchronization
import Testing

/// `aerosol backup` / `aerosol restore` (``DataBackup``): a backup taken while publishers keep
/// writing holds every event acknowledged before it started, and a server started on the
/// restored directory serves them, with the same accounts, tokens and secret.
/// `aerosol backup` copies the SQLite file; on PostgreSQL, pg_dump does (docs/operations.md).
@Suite("Backup and restore", .timeLimit(.minutes(2)), .enabled(if: TestDatabases.engine == .sqlite))
struct BackupTests {
    static let logger = Logger(label: "backup-test")

    @Test func aBackupUnderLoadHoldsEveryEventAcknowledgedBeforeIt() async throws {
        let source = TestServer.makeDataDirectory()
        let restored = TestServer.makeDataDirectory() + "-restored"
        let backup = NSTemporaryDirectory() + "aerosol-backup-\(UUID().uuidString).tar"
        defer {
            for path in [source, restored, backup] { try? FileManager.default.removeItem(atPath: path) }
        }
        let (token, acknowledged) = try await TestServer.with(
            dataDirectory: source,
            configure: { $0.synchronous = .full }
        ) { server in
            let token = try await server.user("ada@example.com")
            for index in 0..<40 { try await server.publish("before", "\(index)", token: token) }
            // Writes go on while the backup is taken.
            let stop = Atomic<Bool>(false)
            let load = Task {
                var count = 0
                while !stop.load(ordering: .relaxed) {
                    try await server.publish("during", "\(count)", token: token)
                    count += 1
                }
                return count
            }
            try await Task.sleep(for: .milliseconds(100))
            let names = try await DataBackup.backup(directory: source, to: backup, logger: Self.logger)
            stop.store(true, ordering: .relaxed)
            let during = try await load.value
            #expect(during > 0, "the publishers wrote while the backup ran")
            #expect(names.first == "aerosol.sqlite")
            #expect(names.contains("server-secret.key"))
            #expect(!names.contains("aerosol.sqlite-wal"))
            return (token, 40)
        }
        let mode = try FileManager.default.attributesOfItem(atPath: backup)[.posixPermissions] as? Int
        #expect(mode == 0o600, "the backup holds the secret")

        try DataBackup.restore(from: backup, into: restored, replacing: false)
        try await TestServer.with(dataDirectory: restored) { server in
            // The same token works: accounts, tokens and the secret came back.
            let stream = try await EventStreamReader.open(
                server,
                "/v1/devices/events/before",
                token: token,
                headers: [("Last-Event-ID", "0")]
            )
            let text = try await stream.read(until: { $0.contains(#"{"data":"\#(acknowledged - 1)""#) })
            for index in 0..<acknowledged { #expect(text.contains(#"{"data":"\#(index)""#)) }
            await stream.close()
        }
    }

    @Test func restoreRefusesADirectoryInUseUnlessForced() async throws {
        let source = TestServer.makeDataDirectory()
        let target = TestServer.makeDataDirectory() + "-target"
        let backup = NSTemporaryDirectory() + "aerosol-backup-\(UUID().uuidString).tar"
        defer {
            for path in [source, target, backup] { try? FileManager.default.removeItem(atPath: path) }
        }
        try await TestServer.with(dataDirectory: source) { server in
            _ = try await server.user("ada@example.com")
        }
        try await DataBackup.backup(directory: source, to: backup, logger: Self.logger)
        await #expect(throws: StoreError.self) {
            try await DataBackup.backup(directory: source, to: backup, logger: Self.logger)
        }

        try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: target + "/keep.txt", contents: Data("x".utf8))
        let refused = #expect(throws: StoreError.self) {
            try DataBackup.restore(from: backup, into: target, replacing: false)
        }
        #expect(refused?.message.hasPrefix("\(target) is not empty") == true)
        #expect(FileManager.default.fileExists(atPath: target + "/keep.txt"))
        let names = try DataBackup.restore(from: backup, into: target, replacing: true)
        #expect(!FileManager.default.fileExists(atPath: target + "/keep.txt"))
        #expect(Set(names) == Set(try FileManager.default.contentsOfDirectory(atPath: target)))

        // Anything else is refused with what is wrong.
        let garbage = backup + ".bad"
        _ = FileManager.default.createFile(atPath: garbage, contents: Data(repeating: 7, count: 2048))
        defer { try? FileManager.default.removeItem(atPath: garbage) }
        let bad = #expect(throws: StoreError.self) {
            try DataBackup.restore(from: garbage, into: target + "-new", replacing: false)
        }
        #expect(bad?.message.hasPrefix("not an Aerosol backup") == true)
    }

    @Test func tarReadsTheBackup() async throws {
        let source = TestServer.makeDataDirectory()
        let backup = NSTemporaryDirectory() + "aerosol-backup-\(UUID().uuidString).tar"
        defer {
            for path in [source, backup] { try? FileManager.default.removeItem(atPath: path) }
        }
        try await TestServer.with(dataDirectory: source) { server in _ = try await server.user("ada@example.com") }
        let names = try await DataBackup.backup(directory: source, to: backup, logger: Self.logger)
        let tar = ChildProcess()
        tar.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        tar.arguments = ["tar", "-tf", backup]
        let output = Pipe()
        tar.standardOutput = output
        try tar.run()
        let listed = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        tar.waitUntilExit()
        #expect(tar.terminationStatus == 0)
        #expect(listed.split(separator: "\n").map(String.init) == names)
    }
}
