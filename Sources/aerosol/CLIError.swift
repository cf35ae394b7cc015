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
        // Particle's words for an unknown device point at a URL with `access_token=undefined`,
        // a hint for its web console that means nothing here.
        if error.error == "Permission Denied", error.errorDescription?.contains("access_token=undefined") == true {
            message = "HTTP 403: Permission Denied: no device of yours has that ID or name"
        }
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
