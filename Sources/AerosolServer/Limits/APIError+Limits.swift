import Foundation

extension APIError {
    /// A request over a per-address limit: 429 with `Retry-After`, in the OAuth layer's format
    /// (`rate_limit_exceeded`) on the token endpoints, otherwise the resource layer's
    /// `{"ok":false,"error":"Too many requests"}` (the contract's, cloud-api.md §9).
    static func tooManyRequests(retryAfter seconds: Int, oauth: Bool, reason: String? = nil) -> APIError {
        let error =
            oauth
            ? APIError.oauth(
                .tooManyRequests,
                "rate_limit_exceeded",
                reason ?? "Too many requests: try again in \(seconds) seconds"
            )
            : APIError.resource(
                .tooManyRequests,
                "Too many requests",
                info: reason ?? "Try again in \(seconds) seconds"
            )
        return error.with(.retryAfter, String(seconds))
    }
}
