import AerosolModels
import HTTPTypes
import Hummingbird
import NIOCore

/// Applies the request limits of ``ClientLimits`` to the client address that
/// ``ClientAddressMiddleware`` settled: every request counts against the request limit, the
/// token endpoints against theirs, and a `GET` that may open an event stream against the
/// stream-open limit and the cap on open streams. A request over a limit gets 429 with
/// `Retry-After` (``APIError/tooManyRequests(retryAfter:oauth:)``) before any route runs.
///
/// An open stream holds its count until its response ends or its connection closes, whichever
/// comes first. `/healthz` and `/readyz` are never limited (a monitor must not be refused), nor
/// a request without an IP address (a Unix socket).
struct ClientLimitMiddleware: RouterMiddleware {
    typealias Context = CloudRequestContext

    /// Seconds a client refused for too many open streams is told to wait: streams end when
    /// their clients close them, at no time the server knows.
    static let openStreamsRetryAfter = 60

    let requests: RateLimiter?
    let tokenRequests: RateLimiter?
    let streamOpens: RateLimiter?
    let openStreams: AddressGauge?

    /// The limits of `limits` (each 0 is off), on `clock`.
    init(limits: ClientLimits, clock: any CloudClock) {
        func limiter(_ name: String, _ limit: Int) -> RateLimiter? {
            guard limits.enabled, limit > 0 else { return nil }
            return RateLimiter(
                name: name,
                limit: limit,
                window: limits.window,
                capacity: limits.maxAddresses,
                clock: clock
            )
        }
        self.requests = limiter("requests", limits.requests)
        self.tokenRequests = limiter("token_requests", limits.tokenRequests)
        self.streamOpens = limiter("stream_opens", limits.streamOpens)
        self.openStreams = limits.enabled && limits.openStreams > 0 ? AddressGauge(limit: limits.openStreams) : nil
    }

    /// The request limits, to share with other nodes (``RateLimitSync``).
    var limiters: [RateLimiter] { [requests, tokenRequests, streamOpens].compactMap { $0 } }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        let path = request.uri.path
        guard let address = context.clientAddress, path != "/healthz", path != "/readyz" else {
            return try await next(request, context)
        }
        let oauth = path.hasPrefix("/oauth/") || path.hasPrefix("/v1/access_tokens")
        if let requests, let wait = requests.count(address) {
            throw APIError.tooManyRequests(retryAfter: wait, oauth: oauth)
        }
        if let tokenRequests, Self.isTokenRequest(request.method, path), let wait = tokenRequests.count(address) {
            throw APIError.tooManyRequests(retryAfter: wait, oauth: oauth)
        }
        guard request.method == .get, EventRoutes.mayBeStream(path) else {
            return try await next(request, context)
        }
        if let streamOpens, let wait = streamOpens.count(address) {
            throw APIError.tooManyRequests(retryAfter: wait, oauth: false)
        }
        guard let openStreams else { return try await next(request, context) }
        guard openStreams.acquire(address) == .admitted else {
            throw APIError.tooManyRequests(
                retryAfter: Self.openStreamsRetryAfter,
                oauth: false,
                reason: "Too many open event streams: at most \(openStreams.limit) per client address"
            )
        }
        let lease = GaugeLease(gauge: openStreams, address: address)
        var response: Response
        do {
            response = try await next(request, context)
        } catch {
            lease.release()
            throw error
        }
        guard response.status == .ok, response.headers[.contentType] == EventStream.headers[.contentType] else {
            lease.release()
            return response
        }
        // Pushed streams never write this body: their connection closes when they end.
        context.channel.closeFuture.whenComplete { _ in lease.release() }
        let body = response.body
        response.body = ResponseBody(contentLength: body.contentLength) { writer in
            defer { lease.release() }
            try await body.write(writer)
        }
        return response
    }

    /// Whether a request goes to a token endpoint (the ones Particle limits to 100 per 5 minutes).
    static func isTokenRequest(_ method: HTTPRequest.Method, _ path: String) -> Bool {
        switch method {
        case .post: path == "/oauth/token"
        case .get: path == "/v1/access_tokens"
        case .delete: path.hasPrefix("/v1/access_tokens/")
        default: false
        }
    }
}
