import AerosolStore
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1

/// Turns every error into the Cloud API's JSON error format, so no request ever gets a
/// non-JSON error body (particle-api-js parses every error body) or a bare 500.
///
/// Also answers CORS the way both open-source local clouds did: `Access-Control-Allow-Origin: *`
/// on every response, and `204` to every `OPTIONS`.
///
/// A request whose `Content-Length` is above the body limit gets its `413` at once, before any
/// of the body is read, and the connection closes after it; so does a request whose body
/// cannot be parsed (a malformed chunk size), with a `400`.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    let routes: SharedRouteTable
    /// The largest request body accepted, in bytes.
    let bodyLimit: Int

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        if request.method == .options {
            return Response(
                status: .noContent,
                headers: [
                    .accessControlAllowOrigin: "*",
                    .accessControlAllowMethods: "GET, POST, PUT, DELETE, OPTIONS",
                    .accessControlAllowHeaders: request.headers[.accessControlRequestHeaders]
                        ?? "Authorization, Content-Type, Last-Event-ID",
                    .accessControlMaxAge: "86400",
                ]
            )
        }
        var response: Response
        do {
            if let length = request.headers[.contentLength], let bytes = Int64(length), bytes > bodyLimit,
                !FirmwareUpload.isMultipart(request)
            {
                throw APIError.bodyTooLarge(limit: bodyLimit)
            }
            response = try await next(request, context)
        } catch {
            response = try self.response(for: error, request: request, context: context)
        }
        response.headers[.accessControlAllowOrigin] = "*"
        return response
    }

    private func response(for error: any Error, request: Request, context: Context) throws -> Response {
        switch error {
        case let error as APIError:
            return try error.response(from: request, context: context)
        case let error as StoreError:
            return try Self.apiError(for: error).response(from: request, context: context)
        case let error as HTTPParserError:
            // A body the HTTP decoder cannot read: the client's fault, and the connection is
            // unusable after it.
            context.logger.debug("malformed request", metadata: ["error": "\(error)"])
            return try APIError.badRequest("Malformed HTTP request: \(error)").with(.connection, "close")
                .response(from: request, context: context)
        case let error as ChannelError where error == .eof || error == .ioOnClosedChannel || error == .inputClosed:
            // The client went away in the middle of its request: nobody reads this answer.
            context.logger.debug("client closed the connection during its request", metadata: ["error": "\(error)"])
            return try APIError.badRequest("The request was cut off").with(.connection, "close")
                .response(from: request, context: context)
        case let error as HTTPError:
            if error.status == .notFound {
                let allowed = routes.methods(for: request.uri.path)
                if !allowed.isEmpty {
                    return try APIError.resource(
                        .methodNotAllowed,
                        "Method \(request.method) is not allowed on \(request.uri.path)"
                    ).with(.allow, allowed.map(\.rawValue).joined(separator: ", "))
                        .response(from: request, context: context)
                }
                return try APIError.notFound("Not found: no route for \(request.method) \(request.uri.path)")
                    .response(from: request, context: context)
            }
            if error.status.code >= 500 {
                context.logger.error("request failed", metadata: ["error": "\(error)"])
            }
            let message = error.body ?? error.status.reasonPhrase
            return try APIError.resource(error.status, message).response(from: request, context: context)
        default:
            context.logger.error(
                "unexpected error while handling request",
                metadata: ["http.path": "\(request.uri.path)", "error": "\(String(reflecting: error))"]
            )
            return try APIError.resource(.internalServerError, "Internal server error")
                .response(from: request, context: context)
        }
    }

    static func apiError(for error: StoreError) -> APIError {
        if error.isNotFound { return .notFound(error.message) }
        if error.isConflict { return .resource(.conflict, error.message) }
        if error.isInvalid { return .badRequest(error.message) }
        if error.isUnavailable { return .resource(.serviceUnavailable, error.message).with(.retryAfter, "1") }
        return .resource(.internalServerError, "Internal server error")
    }
}
