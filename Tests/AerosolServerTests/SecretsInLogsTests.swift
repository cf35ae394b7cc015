import AerosolTesting
import Foundation
import NIOHTTP1
import Testing
import WireClient

/// The real `aerosol serve` at `--log-level trace` (every line it can write), through a run that
/// handles every kind of secret: a password sign-in, access and refresh tokens (in a header, in
/// the query, in a form body), a refresh, a console sign-in and its session cookie, a webhook
/// with a Basic password and a secret header that is delivered. None may appear in any line.
@Suite("No secret in any log line", .timeLimit(.minutes(3)))
struct SecretsInLogsTests {
    @Test func aTraceLevelRunLogsNoTokenPasswordOrSecret() async throws {
        let directory = TestServer.makeDataDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let password = "pw-\(UUID().uuidString)"
        let setup = ChildProcess()
        setup.executableURL = ServerProcess.executable
        setup.arguments = ["user", "create", "ada@example.com", "--password", password, "--data-dir", directory]
        try setup.run()
        setup.waitUntilExit()
        #expect(setup.terminationStatus == 0)
        try TestServer.installServerKey(in: directory)
        let port = try await TestServer.freePort()
        let logPath = directory + "/serve.log"
        FileManager.default.createFile(atPath: logPath, contents: nil)
        let process = ChildProcess()
        process.executableURL = ServerProcess.executable
        process.arguments = [
            "serve", "--port", String(port), "--device-port", "0", "--udp-device-port", "0", "--data-dir", directory,
            "--log-level", "trace", "--log-format", "json", "--allow-private-webhooks",
        ]
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        try process.run()
        defer { if process.isRunning { process.terminate() } }
        let http = Peer(port: port)
        try await http.waitUntilUp()

        var secrets = [password]
        let login = try await http.request(
            .POST,
            "/oauth/token",
            headers: [("Authorization", "Basic cGFydGljbGU6cGFydGljbGU="), form],
            body: "grant_type=password&username=ada%40example.com&password=\(password)"
        )
        #expect(login.status == 200, "\(login.text)")
        let token = try #require(Self.field("access_token", in: login.text))
        let refresh = try #require(Self.field("refresh_token", in: login.text))
        secrets += [token, refresh]
        let refreshed = try await http.request(
            .POST,
            "/oauth/token",
            headers: [("Authorization", "Basic cGFydGljbGU6cGFydGljbGU="), form],
            body: "grant_type=refresh_token&refresh_token=\(refresh)"
        )
        secrets.append(try #require(Self.field("access_token", in: refreshed.text)))

        // A token in the query (as EventSource clients send it) and in a form body.
        #expect(try await http.request(.GET, "/v1/devices?access_token=\(token)").status == 200)
        let published = try await http.request(
            .POST,
            "/v1/devices/events",
            headers: [form],
            body: "name=log-test&data=1&access_token=\(token)"
        )
        #expect(published.status == 200)

        // A webhook with a password and a secret header, delivered to a receiver that answers 200.
        let receiver = try await WebhookReceiver.start()
        let hookPassword = "hook-pw-\(UUID().uuidString)"
        let headerSecret = "hdr-\(UUID().uuidString)"
        secrets += [hookPassword, headerSecret]
        let hook = try await http.request(
            .POST,
            "/v1/webhooks",
            headers: [("Authorization", "Bearer \(token)"), ("Content-Type", "application/json")],
            body: """
                {"event":"log-test","url":"http://127.0.0.1:\(receiver.port)/hook","requestType":"POST",\
                "auth":{"username":"u","password":"\(hookPassword)"},"headers":{"X-Key":"\(headerSecret)"}}
                """
        )
        #expect(hook.status == 201, "\(hook.text)")
        _ = try await http.request(
            .POST,
            "/v1/devices/events",
            headers: [("Authorization", "Bearer \(token)"), form],
            body: "name=log-test&data=2"
        )
        let delivered = try await receiver.waitFor(1)
        #expect(delivered.first?.header("X-Key") == headerSecret)
        await receiver.stop()

        // The console: its sign-in form's nonce, the password again, the session cookie.
        let page = try await http.request(.GET, "/console/login")
        let nonce = try #require(page.text.firstMatch(of: /name="csrf_token" value="([^"]+)"/)?.1)
        secrets.append(String(nonce))
        let signIn = try await http.request(
            .POST,
            "/console/login",
            headers: [form, ("Cookie", "aerosol_login=\(nonce)")],
            body: "csrf_token=\(nonce)&email=ada%40example.com&password=\(password)"
        )
        #expect(signIn.status == 303, "\(signIn.text)")
        let session = try #require(signIn.header("Set-Cookie")?.firstMatch(of: /aerosol_session=([^;]+)/)?.1)
        secrets.append(String(session))

        // The server secret, as bytes written in the usual ways.
        let key = try Data(contentsOf: URL(fileURLWithPath: directory + "/server-secret.key"))
        secrets += [key.base64EncodedString(), key.map { String(format: "%02x", $0) }.joined()]

        process.terminate()
        process.waitUntilExit()
        let log = try String(contentsOfFile: logPath, encoding: .utf8)
        // The run was logged in detail: the check below can find something.
        #expect(log.contains(#""level":"trace""#) || log.contains(#""level":"debug""#))
        #expect(log.split(separator: "\n").count > 20)
        for secret in secrets {
            #expect(!log.contains(secret), "a secret is in the log: \(secret.prefix(6))…")
        }
    }

    private var form: (String, String) { ("Content-Type", "application/x-www-form-urlencoded") }

    /// One request per connection to the server under test.
    struct Peer {
        let port: Int

        func request(_ method: HTTPMethod, _ path: String, headers: [(String, String)] = [], body: String? = nil)
            async throws -> WireResponse
        {
            let connection = try await WireConnection.connect(port: port)
            let response: WireResponse
            do {
                response = try await connection.request(method, path, headers: headers, body: body)
            } catch {
                await connection.close()
                throw error
            }
            await connection.close()
            return response
        }

        func waitUntilUp() async throws {
            for _ in 0..<600 {
                if let answer = try? await request(.GET, "/healthz"), answer.status == 200 { return }
                try await Task.sleep(for: .milliseconds(50))
            }
            throw TestFailure("aerosol serve did not answer on port \(port)")
        }
    }

    static func field(_ name: String, in json: String) -> String? {
        guard let data = json.data(using: .utf8),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { return nil }
        return object[name] as? String
    }
}
