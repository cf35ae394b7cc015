import HTTPTypes
import Hummingbird

/// Adds routes to the router, behind the authentication middleware unless they are public,
/// and records each in a ``RouteTable`` (for 405 answers, the authorization matrix test and
/// the API document check).
final class RouteRegistrar {
    let router: Router<CloudRequestContext>
    let authenticated: RouterGroup<CloudRequestContext>
    let table: SharedRouteTable

    init(router: Router<CloudRequestContext>, table: SharedRouteTable, cloud: Cloud) {
        self.router = router
        self.authenticated = router.group().add(middleware: AuthenticationMiddleware(cloud: cloud))
        self.table = table
    }

    /// Registers `handler` for `method` on `path`; `access` says who may call it.
    func on(
        _ method: HTTPRequest.Method,
        _ path: String,
        _ access: RouteAccess,
        _ handler: @escaping @Sendable (Request, CloudRequestContext) async throws -> Response
    ) {
        table.add(path, method, access)
        switch access {
        case .caller: authenticated.on(RouterPath(path), method: method, use: handler)
        case .anyone, .password, .session: router.on(RouterPath(path), method: method, use: handler)
        }
    }
}
