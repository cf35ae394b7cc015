import Hummingbird

/// `GET /v1/openapi.json`: the API's OpenAPI 3.1 document (docs/openapi.yaml as JSON), without
/// authentication.
struct OpenAPIRoutes {
    let document: OpenAPIDocument

    func register(_ routes: RouteRegistrar) {
        routes.on(.get, "/v1/openapi.json", .anyone) { _, _ in
            Response(
                status: .ok,
                headers: [.contentType: "application/json", .cacheControl: "no-cache"],
                body: .init(byteBuffer: document.bytes)
            )
        }
    }
}
