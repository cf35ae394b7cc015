import AerosolTesting
import Foundation
import Testing

/// A data directory that cannot be used is named in one line, with what is wrong with it (does
/// not exist, not a directory, not writable), by the server and by the commands that work on it.
@Suite("Data directory errors on the command line", .timeLimit(.minutes(2)))
struct DataDirectoryCommandLineTests {
    @Test func aDataDirectoryThatIsAFileIsNamed() async throws {
        let parent = TestServer.makeDataDirectory()
        defer { try? FileManager.default.removeItem(atPath: parent) }
        let file = parent + "/plain-file"
        _ = FileManager.default.createFile(atPath: file, contents: Data("x".utf8))
        let serve = try await ServeStartupTests.run([
            "serve", "--port", "0", "--device-port", "0", "--udp-device-port", "0", "--data-dir", file,
        ])
        #expect(serve.status == 1)
        #expect(serve.stderr == "aerosol: the data directory \(file) is not a directory\n")

        let nested = try await ServeStartupTests.run([
            "serve", "--port", "0", "--device-port", "0", "--udp-device-port", "0", "--data-dir", file + "/data",
        ])
        #expect(nested.status == 1)
        #expect(nested.stderr == "aerosol: cannot create the data directory \(file)/data: \(file) is not a directory\n")

        let create = try await ServeStartupTests.run([
            "user", "create", "ada@example.com", "--password", "correct-horse", "--data-dir", file,
        ])
        #expect(create.status == 1)
        #expect(create.stderr == "aerosol: the data directory \(file) is not a directory\n")
    }

    @Test func theAdministrationCommandsDoNotMakeAMissingDataDirectory() async throws {
        let missing = NSTemporaryDirectory() + "aerosol-missing-" + UUID().uuidString
        for arguments in [["user", "list"], ["user", "password", "ada@example.com", "--password", "long-enough"]] {
            let result = try await ServeStartupTests.run(arguments + ["--data-dir", missing])
            #expect(result.status == 1)
            #expect(result.stderr == "aerosol: the data directory \(missing) does not exist\n")
        }
        #expect(!FileManager.default.fileExists(atPath: missing))
    }

    /// Root may write anywhere: this one runs for other users only.
    @Test(.enabled(if: getuid() != 0)) func aDataDirectoryThatIsNotWritableIsNamed() async throws {
        let directory = TestServer.makeDataDirectory()
        defer {
            chmod(directory, 0o700)
            try? FileManager.default.removeItem(atPath: directory)
        }
        chmod(directory, 0o500)
        let result = try await ServeStartupTests.run([
            "serve", "--port", "0", "--device-port", "0", "--udp-device-port", "0", "--data-dir", directory,
        ])
        #expect(result.status == 1)
        #expect(result.stderr == "aerosol: the data directory \(directory) is not writable by this user\n")
        let nested = try await ServeStartupTests.run(["user", "list", "--data-dir", directory + "/inner"])
        #expect(nested.stderr == "aerosol: the data directory \(directory)/inner does not exist\n")
    }
}
