import DeviceProtocol
import Foundation

/// A file of simulated device identities, so that the slow part of a load test (RSA-1024 key
/// generation) happens once and not inside any timed section.
///
/// One identity per line: the 24-hex device id, a space, the base64 PKCS#1 DER private key.
/// The file holds private keys: it is written with mode 0600. They are keys of simulated
/// devices made for tests, never of real devices.
public enum DeviceIdentityFile {
    /// Where the benchmarks keep their identities unless told otherwise:
    /// `<temporary directory>/aerosol-bench-device-keys.txt`.
    public static var defaultPath: String {
        FileManager.default.temporaryDirectory.appendingPathComponent("aerosol-bench-device-keys.txt").path
    }

    /// What ``load(count:path:)`` did.
    public struct Loaded: Sendable {
        /// The identities, `count` of them.
        public var identities: [DeviceIdentity]
        /// How many were read from the file.
        public var reused: Int
        /// How many were generated (and, with a path, appended to the file).
        public var generated: Int
        /// Seconds spent generating keys.
        public var generationSeconds: Double
    }

    /// The first `count` identities of the file at `path`; any missing ones are generated on
    /// every core and, when `path` is given, the file is rewritten with them added.
    public static func load(count: Int, path: String?) async throws -> Loaded {
        var identities = try path.map { try read(at: $0) } ?? []
        let reused = min(count, identities.count)
        let missing = max(0, count - identities.count)
        let start = MonotonicClock.nanoseconds()
        if missing > 0 {
            identities += try await generate(missing)
            if let path { try write(identities, to: path) }
        }
        return Loaded(
            identities: Array(identities.prefix(count)),
            reused: reused,
            generated: missing,
            generationSeconds: missing > 0 ? MonotonicClock.seconds(since: start) : 0
        )
    }

    /// `count` new identities, generated on as many tasks as there are cores.
    public static func generate(_ count: Int) async throws -> [DeviceIdentity] {
        let workers = max(1, min(count, ProcessInfo.processInfo.activeProcessorCount))
        return try await withThrowingTaskGroup(of: [DeviceIdentity].self) { group in
            for worker in 0..<workers {
                let share = count / workers + (worker < count % workers ? 1 : 0)
                group.addTask {
                    var made: [DeviceIdentity] = []
                    made.reserveCapacity(share)
                    for _ in 0..<share {
                        try Task.checkCancellation()
                        made.append(try DeviceIdentity.generate())
                    }
                    return made
                }
            }
            var all: [DeviceIdentity] = []
            all.reserveCapacity(count)
            for try await made in group { all += made }
            return all
        }
    }

    /// Every identity in the file at `path`; none if the file does not exist.
    public static func read(at path: String) throws -> [DeviceIdentity] {
        guard FileManager.default.fileExists(atPath: path) else { return [] }
        let text = try String(contentsOfFile: path, encoding: .utf8)
        var identities: [DeviceIdentity] = []
        var seen = Set<DeviceID>()
        for (number, line) in text.split(separator: "\n").enumerated() {
            let fields = line.split(separator: " ")
            guard fields.count == 2, let id = DeviceID(hex: String(fields[0])),
                let der = Data(base64Encoded: String(fields[1]))
            else {
                throw BenchError("\(path), line \(number + 1): not `<device id> <base64 private key>`")
            }
            guard seen.insert(id).inserted else { continue }
            do {
                identities.append(try DeviceIdentity(id: id, privateKeyDER: [UInt8](der)))
            } catch {
                throw BenchError("\(path), line \(number + 1): not an RSA private key")
            }
        }
        return identities
    }

    /// Writes `identities` to `path` (mode 0600), replacing the file atomically.
    public static func write(_ identities: [DeviceIdentity], to path: String) throws {
        var text = ""
        text.reserveCapacity(identities.count * 900)
        for identity in identities {
            text += identity.id.hexString + " " + Data(identity.privateKeyDER).base64EncodedString() + "\n"
        }
        let temporary = path + ".\(getpid()).tmp"
        guard
            FileManager.default.createFile(
                atPath: temporary,
                contents: Data(text.utf8),
                attributes: [.posixPermissions: 0o600]
            )
        else {
            throw BenchError("cannot write \(temporary)")
        }
        guard rename(temporary, path) == 0 else {
            try? FileManager.default.removeItem(atPath: temporary)
            throw BenchError("cannot replace \(path)")
        }
    }
}
