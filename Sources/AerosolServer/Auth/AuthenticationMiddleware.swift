import Hummingbird

/// Settles who is asking before an authenticated route runs: reads the body once (so that a
/// token in a form body is found, and a body token on a GET gets its 400), locates the one
/// token of the request or the console's session cookie, and puts the ``Caller`` and the
/// fields in the context. The routes behind it never repeat this.
struct AuthenticationMiddleware: RouterMiddleware {
    typealias Context = CloudRequestContext

    let cloud: Cloud

    func handle(
        _ request: Request,
        context: CloudRequestContext,
        next: (Request, CloudRequestContext) async throws -> Response
    ) async throws -> Response {
        var request = request
        var context = context
        let fields = try await cloud.fields(&request)
        context.identity = try await cloud.auth.authenticate(request, fields: fields)
        context.fields = fields
        return try await next(request, context)
    }
}
