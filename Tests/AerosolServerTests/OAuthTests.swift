import AerosolModels
import Foundation
import Testing
import WireClient

@Suite("POST /oauth/token", .timeLimit(.minutes(1)))
struct OAuthTests {
    static let basic = ("Authorization", "Basic " + Data("particle:particle".utf8).base64EncodedString())
    static let formType = ("Content-Type", "application/x-www-form-urlencoded")

    func token(_ server: TestServer, _ fields: [(String, String)], headers: [(String, String)]? = nil) async throws
        -> WireResponse
    {
        try await server.request(
            .POST,
            "/oauth/token",
            headers: headers ?? [Self.formType, Self.basic],
            body: TestServer.formBody(fields)
        )
    }

    @Test func passwordGrantReturnsTheDocumentedShape() async throws {
        try await TestServer.with { server in
            try await server.createUser("ada@example.com")
            let response = try await token(
                server,
                [("grant_type", "password"), ("username", "ada@example.com"), ("password", "correct-horse")]
            )
            #expect(response.status == 200)
            #expect(response.header("Cache-Control") == "no-store")
            #expect(response.header("Content-Type") == "application/json")
            let json = try JSONValue(response)
            #expect(json["token_type"] == .string("bearer"))
            #expect(json["expires_in"] == .int(7_776_000))
            let access = try #require(json["access_token"]?.stringValue)
            let refresh = try #require(json["refresh_token"]?.stringValue)
            #expect(access.count == 40 && access.allSatisfy(\.isHexDigit))
            #expect(refresh.count == 40 && refresh != access)
            // Key order as the original sends it.
            #expect(response.text.hasPrefix(#"{"token_type":"bearer","access_token":""#))
        }
    }

    @Test func clientMayAuthenticateInTheBodyAndExpiresInZeroMeansNever() async throws {
        try await TestServer.with { server in
            try await server.createUser("ada@example.com")
            let response = try await token(
                server,
                [
                    ("grant_type", "password"), ("username", "ADA@example.com"), ("password", "correct-horse"),
                    ("client_id", "particle-cli"), ("client_secret", "particle-cli"), ("expires_in", "0"),
                ],
                headers: [Self.formType]
            )
            #expect(response.status == 200)
            let json = try JSONValue(response)
            #expect(json["expires_in"] == nil)
            let access = try #require(json["access_token"]?.stringValue)
            let current = try await server.get("/v1/access_tokens/current", token: access)
            #expect(current.status == 200)
            #expect(try JSONValue(current)["expires_at"] == .null)
            #expect(try JSONValue(current)["client"] == .string("particle-cli"))
        }
    }

    @Test func wrongPasswordAndUnknownUserGetInvalidGrant() async throws {
        try await TestServer.with { server in
            try await server.createUser("ada@example.com")
            for (user, password) in [("ada@example.com", "wrong-password"), ("nobody@example.com", "correct-horse")] {
                let response = try await token(
                    server,
                    [("grant_type", "password"), ("username", user), ("password", password)]
                )
                #expect(response.status == 400)
                #expect(
                    response.text == #"{"error":"invalid_grant","error_description":"User credentials are invalid"}"#
                )
                #expect(response.header("Pragma") == "no-cache")
            }
        }
    }

    /// Found by the contract test (schemathesis): `expires_in=9223372036854775806` made the
    /// expiry overflow its time in milliseconds and crashed the server. Lifetimes are bounded at
    /// 100 years, by `expires_in` and `expires_at` alike.
    @Test func lifetimesBeyondAHundredYearsAreRefused() async throws {
        try await TestServer.with { server in
            try await server.createUser("ada@example.com")
            let credentials = [
                ("grant_type", "password"), ("username", "ada@example.com"), ("password", "correct-horse"),
            ]
            for lifetime in ["9223372036854775806", "9300000000000", "3153600001"] {
                let response = try await token(server, credentials + [("expires_in", lifetime)])
                #expect(response.status == 400)
                #expect(
                    response.text
                        == #"{"error":"invalid_request","error_description":"expires_in must be a whole number of seconds up to 3153600000 (100 years), 0 for never"}"#
                )
            }
            let farAway = try await token(server, credentials + [("expires_at", "+99999-12-31T23:59:59Z")])
            #expect(farAway.status == 400)
            #expect(
                farAway.text
                    == #"{"error":"invalid_request","error_description":"expires_at must be an ISO-8601 time in the future, at most 100 years away"}"#
            )
            let longest = try await token(server, credentials + [("expires_in", "3153600000")])
            #expect(longest.status == 200)
            #expect(try JSONValue(longest)["expires_in"] == .int(3_153_600_000))
            // The server is still there.
            #expect(try await server.request(.GET, "/healthz").status == 200)
        }
    }

    @Test func documentedRequestErrors() async throws {
        try await TestServer.with { server in
            let missingGrant = try await token(server, [("username", "a"), ("password", "b")])
            #expect(missingGrant.status == 400)
            #expect(
                missingGrant.text
                    == #"{"error":"invalid_request","error_description":"Invalid or missing grant_type parameter"}"#
            )

            let json = try await server.request(
                .POST,
                "/oauth/token",
                headers: [("Content-Type", "application/json"), Self.basic],
                body: #"{"grant_type":"password"}"#
            )
            #expect(json.status == 400)
            #expect(
                json.text
                    == #"{"error":"invalid_request","error_description":"Method must be POST with application/x-www-form-urlencoded encoding"}"#
            )

            let noClient = try await token(server, [("grant_type", "password")], headers: [Self.formType])
            #expect(noClient.status == 400)
            #expect(
                noClient.text
                    == #"{"error":"invalid_client","error_description":"Invalid or missing client_id parameter"}"#
            )
            #expect(noClient.header("WWW-Authenticate") == #"Basic realm="Service""#)

            let badClient = try await token(
                server,
                [("grant_type", "password"), ("client_id", "particle"), ("client_secret", "nope")],
                headers: [Self.formType]
            )
            #expect(
                badClient.text == #"{"error":"invalid_client","error_description":"Client credentials are invalid"}"#
            )

            let missingSecret = try await token(
                server,
                [("grant_type", "password"), ("client_id", "particle")],
                headers: [Self.formType]
            )
            #expect(
                missingSecret.text
                    == #"{"error":"invalid_client","error_description":"Missing client_secret parameter"}"#
            )

            let missingCredentials = try await token(server, [("grant_type", "password")])
            #expect(
                missingCredentials.text
                    == #"{"error":"invalid_client","error_description":"Missing parameters. \"username\" and \"password\" are required"}"#
            )

            let noRefresh = try await token(server, [("grant_type", "refresh_token")])
            #expect(
                noRefresh.text == #"{"error":"invalid_request","error_description":"No \"refresh_token\" parameter"}"#
            )
        }
    }

    @Test func refreshTokenGrantsANewTokenOnce() async throws {
        try await TestServer.with { server in
            try await server.createUser("ada@example.com")
            let first = try JSONValue(
                try await token(
                    server,
                    [("grant_type", "password"), ("username", "ada@example.com"), ("password", "correct-horse")]
                )
            )
            let refresh = try #require(first["refresh_token"]?.stringValue)
            let renewed = try await token(server, [("grant_type", "refresh_token"), ("refresh_token", refresh)])
            #expect(renewed.status == 200)
            let access = try #require(try JSONValue(renewed)["access_token"]?.stringValue)
            #expect(try await server.get("/v1/devices", token: access).status == 200)

            let reused = try await token(server, [("grant_type", "refresh_token"), ("refresh_token", refresh)])
            #expect(reused.status == 400)
            #expect(reused.text == #"{"error":"invalid_grant","error_description":"Invalid refresh token"}"#)
        }
    }
}
