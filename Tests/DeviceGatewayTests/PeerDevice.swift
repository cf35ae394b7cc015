import AerosolTesting
import Foundation
import Synchronization
import Testing

/// The independent UDP/DTLS test device (`Tests/Peers/particle_udp_device.py`, written from the
/// protocol notes, not from the gateway's code) as a subprocess: JSON commands in on stdin, one
/// JSON observation per stdout line.
final class PeerDevice: Sendable {
    /// The repository's root, from this file's place in it.
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    /// The peer's Python, in the virtual environment `Tests/Peers/run-tests.sh` makes.
    static let python = root.appendingPathComponent(".venv/bin/python").path
    /// Whether the peer can run here. CI makes the venv first and sets `AEROSOL_REQUIRE_PEER=1`,
    /// so that a missing venv fails there instead of skipping.
    static var isAvailable: Bool {
        FileManager.default.isExecutableFile(atPath: python)
            || ProcessInfo.processInfo.environment["AEROSOL_REQUIRE_PEER"] == "1"
    }

    private let process: ChildProcess
    private let input: FileHandle
    private let lines = Lines()
    private let cursor = Mutex(0)
    private let nextID = Mutex(0)

    /// Starts the peer with `arguments` (after the script's path).
    init(_ arguments: [String]) throws {
        process = ChildProcess()
        process.executableURL = URL(fileURLWithPath: Self.python)
        process.arguments = [Self.root.appendingPathComponent("Tests/Peers/particle_udp_device.py").path] + arguments
        let stdin = Pipe()
        let stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = FileHandle.standardError
        input = stdin.fileHandleForWriting
        try process.run()
        let reader = stdout.fileHandleForReading
        let lines = self.lines
        Thread.detachNewThread {
            var pending = Data()
            while true {
                let chunk = reader.availableData
                if chunk.isEmpty { break }
                pending.append(chunk)
                while let newline = pending.firstIndex(of: 0x0A) {
                    let line = String(decoding: pending[pending.startIndex..<newline], as: UTF8.self)
                    pending.removeSubrange(pending.startIndex...newline)
                    lines.storage.withLock { $0.append(line) }
                }
            }
        }
    }

    /// Stops the peer.
    func stop() {
        try? input.close()
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
    }

    /// Every line so far.
    var transcript: [String] { lines.storage.withLock { $0 } }

    /// The observations the device raised as protocol violations by the server.
    var violations: [String] {
        transcript.filter { $0.contains(#""type": "violation""#) || $0.contains(#""type":"violation""#) }
    }

    /// Waits for the next line (after those already consumed) whose JSON satisfies `predicate`.
    @discardableResult
    func next(
        timeout: Duration = .seconds(20),
        _ predicate: ([String: Any]) -> Bool
    ) async throws -> [String: Any] {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let (found, seen) = lines.storage.withLock { all -> ([String: Any]?, Int) in
                var index = cursor.withLock { $0 }
                while index < all.count {
                    let line = all[index]
                    index += 1
                    if let data = line.data(using: .utf8),
                        let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                        predicate(object)
                    {
                        return (object, index)
                    }
                }
                return (nil, index)
            }
            if let found {
                cursor.withLock { $0 = seen }
                return found
            }
            guard process.isRunning else { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw PeerFailure("no matching line from the peer; it said:\n" + transcript.suffix(30).joined(separator: "\n"))
    }

    /// Waits for an observation of `type`.
    @discardableResult
    func observe(_ type: String, timeout: Duration = .seconds(20)) async throws -> [String: Any] {
        try await next(timeout: timeout) { $0["type"] as? String == type }
    }

    /// Sends a command without waiting for its result.
    func post(_ command: [String: Any]) throws {
        let data = try JSONSerialization.data(withJSONObject: command)
        input.write(data + Data("\n".utf8))
    }

    /// Runs a command and returns its result line (failing if it is not ok).
    @discardableResult
    func run(_ command: [String: Any], timeout: Duration = .seconds(30)) async throws -> [String: Any] {
        let id = nextID.withLock { value -> Int in
            value += 1
            return value
        }
        var command = command
        command["id"] = id
        let data = try JSONSerialization.data(withJSONObject: command)
        input.write(data + Data("\n".utf8))
        let result = try await next(timeout: timeout) {
            $0["type"] as? String == "result" && ($0["id"] as? Int) == id
        }
        guard result["ok"] as? Bool == true else {
            throw PeerFailure("\(command) failed: \(result)")
        }
        return result
    }
}

/// The peer's stdout lines, shared with the thread that reads them.
final class Lines: Sendable {
    let storage = Mutex<[String]>([])
}

/// The peer did not do what a test expected.
struct PeerFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
