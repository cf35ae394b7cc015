import Foundation
import NIOCore
import WireClient

extension BenchServer {
    /// Logs the bench account in (a token that never expires) and creates the bench product
    /// (unless another node of the same cloud did).
    func prepare(createProduct: Bool = true) async throws {
        let connection = try await WireConnection.connect(port: port)
        do {
            try await prepare(on: connection, createProduct: createProduct)
            await connection.close()
        } catch {
            await connection.close()
            throw error
        }
    }

    private func prepare(on connection: WireConnection, createProduct: Bool) async throws {
        let login = try await connection.request(
            .POST,
            "/oauth/token",
            headers: [
                ("Authorization", "Basic " + Data("particle:particle".utf8).base64EncodedString()),
                ("Content-Type", "application/x-www-form-urlencoded"),
            ],
            body: "grant_type=password&username=\(Self.email)&password=\(Self.password)&expires_in=0"
        )
        guard login.status == 200, let accessToken = try Self.object(login.body)["access_token"] as? String else {
            throw BenchError("POST /oauth/token answered \(login.status): \(login.text)")
        }
        token = accessToken
        guard createProduct else { return }
        let created = try await connection.request(
            .POST,
            "/v1/products",
            headers: [
                ("Authorization", "Bearer \(accessToken)"),
                ("Content-Type", "application/x-www-form-urlencoded"),
            ],
            body: "name=Bench"
        )
        guard (200..<300).contains(created.status),
            let slug = (try Self.object(created.body)["product"] as? [String: Any])?["slug"] as? String,
            slug == product
        else {
            throw BenchError("POST /v1/products answered \(created.status): \(created.text)")
        }
    }

    private static func object(_ body: ByteBuffer) throws -> [String: Any] {
        let json = try JSONSerialization.jsonObject(with: Data(body.readableBytesView))
        return json as? [String: Any] ?? [:]
    }
}
