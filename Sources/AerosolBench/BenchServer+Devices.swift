import DeviceGateway
import DeviceProtocol
import Foundation
import NIOCore
import WireClient

extension BenchServer {
    /// The server's public key DER (what a device stores), from the key the server wrote into
    /// its data directory when it started.
    public func serverPublicKeyDER() throws -> [UInt8] {
        try ServerKeyFile.load(at: serverKeyPath).publicKeyDER
    }

    /// Provisions every device's public key (`POST /v1/provisioning/:id`, `concurrency`
    /// keep-alive connections) and adds the devices to the bench product (`POST
    /// /v1/products/bench/devices`, 500 ids a request), so that their events reach the
    /// product's stream.
    public func provision(_ identities: [DeviceIdentity], concurrency: Int = 16) async throws {
        try await provision(
            keys: identities.map { ProvisionedKey(id: $0.id, publicKeyPEM: $0.publicKey.pemRepresentation) },
            algorithm: nil,
            concurrency: concurrency
        )
    }

    /// A device id and the public key (PEM) to provision for it.
    public struct ProvisionedKey: Sendable {
        /// The device id.
        public var id: DeviceID
        /// Its public key, PEM (`BEGIN PUBLIC KEY`).
        public var publicKeyPEM: String

        /// A device id and its public key.
        public init(id: DeviceID, publicKeyPEM: String) {
            self.id = id
            self.publicKeyPEM = publicKeyPEM
        }
    }

    /// Provisions every key (`POST /v1/provisioning/:id` with `algorithm` when given, such as
    /// `ecc` for UDP devices; `concurrency` keep-alive connections) and adds the devices to the
    /// bench product (500 ids a request).
    public func provision(keys identities: [ProvisionedKey], algorithm: String?, concurrency: Int = 16)
        async throws
    {
        let port = port
        let token = token
        let workers = max(1, min(concurrency, identities.count))
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<workers {
                let share = stride(from: worker, to: identities.count, by: workers).map { identities[$0] }
                group.addTask {
                    let connection = try await WireConnection.connect(port: port)
                    do {
                        for identity in share {
                            try await Self.provision(identity, algorithm: algorithm, token: token, on: connection)
                        }
                        await connection.close()
                    } catch {
                        await connection.close()
                        throw error
                    }
                }
            }
            try await group.waitForAll()
        }
        let connection = try await WireConnection.connect(port: port)
        do {
            for start in stride(from: 0, to: identities.count, by: 500) {
                let ids = identities[start..<min(start + 500, identities.count)].map { "\"\($0.id.hexString)\"" }
                let response = try await connection.request(
                    .POST,
                    "/v1/products/\(product)/devices",
                    headers: [("Authorization", "Bearer \(token)"), ("Content-Type", "application/json")],
                    body: #"{"ids":["# + ids.joined(separator: ",") + "]}"
                )
                guard response.status == 200 else {
                    throw BenchError(
                        "POST /v1/products/\(product)/devices answered \(response.status): \(response.text)"
                    )
                }
            }
            await connection.close()
        } catch {
            await connection.close()
            throw error
        }
    }

    private static func provision(
        _ identity: ProvisionedKey,
        algorithm: String?,
        token: String,
        on connection: WireConnection
    ) async throws {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        let pem = identity.publicKeyPEM.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
        let response = try await connection.request(
            .POST,
            "/v1/provisioning/\(identity.id.hexString)",
            headers: [
                ("Authorization", "Bearer \(token)"), ("Content-Type", "application/x-www-form-urlencoded"),
            ],
            body: "publicKey=" + pem + (algorithm.map { "&algorithm=" + $0 } ?? "")
        )
        guard response.status == 200 else {
            throw BenchError(
                "POST /v1/provisioning/\(identity.id.hexString) answered \(response.status): \(response.text)"
            )
        }
    }
}
