import HTTPTypes
import Hummingbird

/// Gives every request an ID: the client's `X-Request-ID` when it is a sensible one (1–128 of
/// `A–Z a–z 0–9 . _ : -`; a proxy's or a load balancer's), else the one Hummingbird made. It is
/// in every log line of the request (`hb.request.id`) and returned as `X-Request-ID`, so that a
/// user's report and the server's log meet.
///
/// Anything else in the header is ignored rather than echoed: it would end up in log lines.
struct RequestIDMiddleware: RouterMiddleware {
    typealias Context = CloudRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        var context = context
        let id: String
        if let given = request.headers[.xRequestID], Self.isAcceptable(given) {
            id = given
            context.logger[metadataKey: "hb.request.id"] = "\(given)"
        } else {
            id = context.id
        }
        var response = try await next(request, context)
        response.headers[.xRequestID] = id
        return response
    }

    /// Whether a client's request ID is used as it is.
    static func isAcceptable(_ id: String) -> Bool {
        (1...128).contains(id.utf8.count)
            && id.utf8.allSatisfy { byte in
                switch byte {
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                    UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: ":"),
                    UInt8(ascii: "-"):
                    true
                default: false
                }
            }
    }
}
