import AerosolClient
import AerosolModels
import AerosolTesting
import Foundation
import Synchronization
import Testing
import WireClient

/// Names acknowledged by the server, gathered from several publishing tasks.
final class Acknowledged: Sendable {
    private let storage = Mutex<Set<String>>([])

    func insert(_ name: String) {
        storage.withLock { _ = $0.insert(name) }
    }

    var names: Set<String> { storage.withLock { $0 } }
}

/// The real `aerosol serve` process, killed with SIGKILL in the middle of a publishing burst.
@Suite("Crash recovery", .timeLimit(.minutes(5)))
struct CrashRecoveryTests {
    @Test func everyAcknowledgedEventSurvivesKill9() async throws {
        let directory = TestServer.makeDataDirectory()
        let port = try await TestServer.freePort()
        let setup = try await CommandLine(configHome: directory, apiURL: "").run(
            ["user", "create", "ada@example.com", "--password", "correct-horse", "--data-dir", directory]
        )
        #expect(setup.status == 0)
        // The server's RSA key is written beforehand: generating one takes seconds in a debug build.
        try TestServer.installServerKey(in: directory)
        var server = try await ServerProcess.serve(port: port, directory: directory)
        let anonymous = AerosolClient(baseURL: "http://127.0.0.1:\(port)")
        let token = try await anonymous.login(username: "ada@example.com", password: "correct-horse", expiresIn: 0)
            .accessToken
        let client = anonymous.with(token: token)

        // Publishers run until the server dies under them; only acknowledged names are kept.
        let acknowledged = Acknowledged()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for lane in 0..<8 {
                group.addTask {
                    var index = 0
                    while true {
                        let name = "e\(lane)-\(index)"
                        do {
                            try await client.publish(name: name, data: "x")
                        } catch {
                            return
                        }
                        acknowledged.insert(name)
                        index += 1
                    }
                }
            }
            // Kill mid-burst once enough events are acknowledged (the rate varies with the load).
            let deadline = ContinuousClock.now + .seconds(60)
            while acknowledged.names.count < 200, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
            }
            kill(server.processIdentifier, SIGKILL)
            try await group.waitForAll()
        }
        server.waitUntilExit()
        let acked = acknowledged.names
        #expect(acked.count > 100, "the burst was too short to mean anything")

        server = try await ServerProcess.serve(port: port, directory: directory)
        defer {
            server.terminate()
            server.waitUntilExit()
        }
        var options = StreamOptions()
        options.lastEventID = "0"
        var replayed = Set<String>()
        for try await event in client.events(.mine, options: options).events {
            replayed.insert(event.name)
            if acked.isSubset(of: replayed) { break }
        }
        #expect(acked.subtracting(replayed).isEmpty)
    }
}
