import AerosolClient
import AerosolStore
import ArgumentParser
import Foundation

/// A command-line failure with a one-line message for people.
struct CLIError: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }
}

/// Runs a command's body: any failure becomes one line on stderr and exit code 1.
func runReportingErrors(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let error as ClientError {
        var message = error.description
        if error.status == 401 { message += " (log in again with `aerosol login`)" }
        FileHandle.standardError.write(Data("aerosol: \(message)\n".utf8))
        throw ExitCode.failure
    } catch let error as CLIError {
        FileHandle.standardError.write(Data("aerosol: \(error.description)\n".utf8))
        throw ExitCode.failure
    } catch let error as StoreError {
        // The commands that work on the data directory: a taken email, a directory that is not
        // there or not writable.
        FileHandle.standardError.write(Data("aerosol: \(error.message)\n".utf8))
        throw ExitCode.failure
    }
}

/// Writes a line to stdout unbuffered, so output piped into `jq` arrives at once.
func printLine(_ text: String) {
    FileHandle.standardOutput.write(Data((text + "\n").utf8))
}

/// Writes a line to stderr.
func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}
