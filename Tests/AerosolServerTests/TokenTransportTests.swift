import AerosolModels
import AerosolServer
import AerosolStore
import Foundation
import Testing
import WireClient

@Suite("Token transports and errors", .timeLimit(.minutes(1)))
struct TokenTransportTests {
    @Test func headerQueryAndFormBodyEachWork() async throws {
        try await TestServer.with { server in
            let token = try await server.user("ada@example.com")
            #expect(try await server.get("/v1/devices", token: token).status == 200)
            #expect(try await server.get("/v1/devices?access_token=\(token)", token: nil).status == 200)
            let form = try await server.form(
                .POST,
                "/v1/devices/events",
                token: nil,
                [("name", "x"), ("access_token", token)]
            )
            #expect(form.status == 200)
            #expect(form.text == #"{"ok":true}"#)
        }
    }

    @Test func eachLocatingErrorHasTheExactBody() async throws {
        try await TestServer.with { server in
            let token = try await server.user("ada@example.com")
            let missing = try await server.get("/v1/devices", token: nil)
            #expect(missing.status == 400)
            #expect(
                missing.text == #"{"error":"invalid_request","error_description":"The access token was not found"}"#
            )

            let malformed = try await server.request(.GET, "/v1/devices", headers: [("Authorization", "Token abc")])
            #expect(malformed.status == 400)
            #expect(malformed.text == #"{"error":"invalid_request","error_description":"Malformed auth header"}"#)

            let lowercase = try await server.request(
                .GET,
                "/v1/devices",
                headers: [("Authorization", "bearer \(token)")]
            )
            #expect(lowercase.text == #"{"error":"invalid_request","error_description":"Malformed auth header"}"#)

            let several = try await server.get("/v1/devices?access_token=\(token)", token: token)
            #expect(several.status == 400)
            #expect(
                several.text
                    == #"{"error":"invalid_request","error_description":"Only one method may be used to authenticate at a time (Auth header,  GET or POST)."}"#
            )

            let jsonBody = try await server.request(
                .POST,
                "/v1/devices/events",
                headers: [("Content-Type", "application/json")],
                body: #"{"name":"x","access_token":"\#(token)"}"#
            )
            #expect(jsonBody.status == 400)
            #expect(
                jsonBody.text
                    == #"{"error":"invalid_request","error_description":"When putting the token in the body, content type must be application/x-www-form-urlencoded."}"#
            )

            let bodyOnGet = try await server.request(
                .GET,
                "/v1/devices",
                headers: [("Content-Type", "application/x-www-form-urlencoded")],
                body: "access_token=\(token)"
            )
            #expect(bodyOnGet.status == 400)
            #expect(
                bodyOnGet.text
                    == #"{"error":"invalid_request","error_description":"Method cannot be GET When putting the token in the body."}"#
            )
        }
    }

    @Test func unknownTokenIs401AndExpiredTokenSaysSo() async throws {
        try await TestServer.with { server in
            try await server.createUser("ada@example.com")
            let unknown = try await server.get("/v1/devices", token: String(repeating: "a", count: 40))
            #expect(unknown.status == 401)
            #expect(
                unknown.text
                    == #"{"error":"invalid_token","error_description":"The access token provided is invalid."}"#
            )

            // Issue a token that expired a minute ago, straight into the store.
            let database = try await TestDatabases.open(dataDirectory: server.dataDirectory, logger: TestServer.logger)
            let secret = try ServerSecret.loadOrCreate(at: DataDirectory(path: server.dataDirectory).secretPath)
            let user = try #require(try await UserStore(database: database).find(email: "ada@example.com"))
            let issued = try await TokenStore(database: database, secret: secret)
                .issue(userID: user.id, client: "particle", expiresIn: 60, now: Date().addingTimeInterval(-120))
            await database.close()
            let expired = try await server.get("/v1/devices", token: issued.accessToken)
            #expect(expired.status == 401)
            #expect(
                expired.text
                    == #"{"error":"invalid_token","error_description":"The access token provided has expired."}"#
            )
        }
    }
}
