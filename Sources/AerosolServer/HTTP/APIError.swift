import AerosolModels
import Foundation
import HTTPTypes
import Hummingbird

/// An error answered in one of the Cloud API's two JSON error formats.
///
/// This is the only place error bodies are made: the OAuth layer's
/// `{"error","error_description"}` (with `Cache-Control: no-store`) and the resource layer's
/// `{"ok":false,"error",…}`.
public struct APIError: Error, HTTPResponseError, Sendable {
    private enum Body: Sendable {
        case oauth(error: String, description: String)
        case resource(error: String, info: String?)
    }

    /// The HTTP status.
    public let status: HTTPResponse.Status
    private let body: Body
    private var extraHeaders: HTTPFields = [:]

    private init(_ status: HTTPResponse.Status, _ body: Body) {
        self.status = status
        self.body = body
    }

    /// An OAuth-layer error (`{"error","error_description"}`).
    public static func oauth(_ status: HTTPResponse.Status, _ error: String, _ description: String) -> APIError {
        APIError(status, .oauth(error: error, description: description))
    }

    /// A resource-layer error (`{"ok":false,"error",["info"]}`).
    public static func resource(_ status: HTTPResponse.Status, _ error: String, info: String? = nil) -> APIError {
        APIError(status, .resource(error: error, info: info))
    }

    /// This error with an extra response header.
    public func with(_ name: HTTPField.Name, _ value: String) -> APIError {
        var copy = self
        copy.extraHeaders[name] = value
        return copy
    }

    /// The message, for logs and tests.
    public var message: String {
        switch body {
        case .oauth(let error, let description): "\(error): \(description)"
        case .resource(let error, _): error
        }
    }

    /// The JSON body.
    public var json: JSONValue {
        switch body {
        case .oauth(let error, let description):
            .object([("error", .string(error)), ("error_description", .string(description))])
        case .resource(let error, let info):
            .object([("ok", .bool(false)), ("error", .string(error))] + (info.map { [("info", .string($0))] } ?? []))
        }
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var headers: HTTPFields = [.contentType: "application/json"]
        if case .oauth = body {
            headers[.cacheControl] = "no-store"
            headers[.pragma] = "no-cache"
        }
        headers.append(contentsOf: extraHeaders)
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: json.serialized)))
    }
}

extension APIError {
    // MARK: Token location, all 400 invalid_request.

    static let tokenNotFound = oauth(.badRequest, "invalid_request", "The access token was not found")
    static let malformedAuthHeader = oauth(.badRequest, "invalid_request", "Malformed auth header")
    static let severalTokens = oauth(
        .badRequest,
        "invalid_request",
        "Only one method may be used to authenticate at a time (Auth header,  GET or POST)."
    )
    static let bodyTokenNotForm = oauth(
        .badRequest,
        "invalid_request",
        "When putting the token in the body, content type must be application/x-www-form-urlencoded."
    )
    static let bodyTokenOnGET = oauth(
        .badRequest,
        "invalid_request",
        "Method cannot be GET When putting the token in the body."
    )
    static let invalidToken = oauth(.unauthorized, "invalid_token", "The access token provided is invalid.")
    static let expiredToken = oauth(.unauthorized, "invalid_token", "The access token provided has expired.")

    // MARK: Resources.

    static func permissionDenied(baseURL: String) -> APIError {
        resource(
            .forbidden,
            "Permission Denied",
            info: "I didn't recognize that device name or ID, try opening \(baseURL)/v1/devices?access_token=undefined"
        )
    }

    /// A console request that changes something without the session's CSRF token.
    static let csrfRefused = resource(
        .forbidden,
        "Missing or wrong CSRF token",
        info: "Reload the console page; requests signed in by cookie must send X-CSRF-Token"
    )

    /// Sign-ins refused until `until` after repeated failures (OAuth layer, with `Retry-After`).
    static func lockedOut(until: Date, now: Date) -> APIError {
        let seconds = max(1, Int(until.timeIntervalSince(now).rounded(.up)))
        return oauth(
            .tooManyRequests,
            "rate_limit_exceeded",
            "Too many failed sign-in attempts: try again in \((seconds + 59) / 60) minutes"
        ).with(.retryAfter, String(seconds))
    }

    /// A body above the limit; the connection closes after it (the rest of the body is not read).
    static func bodyTooLarge(limit: Int) -> APIError {
        resource(.contentTooLarge, "Request body too large: the limit is \(limit) bytes").with(.connection, "close")
    }

    static func badRequest(_ message: String) -> APIError { resource(.badRequest, message) }
    static func notFound(_ message: String) -> APIError { resource(.notFound, message) }
}
