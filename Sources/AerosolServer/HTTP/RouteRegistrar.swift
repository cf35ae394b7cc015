import HTTPTypes
import Hummingbird

/// Adds routes to the router and records them in a ``RouteTable`` (for 405 answers).
final class RouteRegistrar {
    let router: Router<BasicRequestContext>
    let table: SharedRouteTable

    init(router: Router<BasicRequestContext>, table: SharedRouteTable) {
        self.router = router
        self.table = table
    }

    func on(
        _ method: HTTPRequest.Method,
        _ path: String,
        _ handler: @escaping @Sendable (Request, BasicRequestContext) async throws -> Response
    ) {
        table.add(path, method)
        router.on(RouterPath(path), method: method, use: handler)
    }
}
