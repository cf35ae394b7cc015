import Hummingbird
import Synchronization

/// The response to a connection's first request, computed before Hummingbird's loop took the
/// connection over (see ``StreamingHTTP1Channel``); handed out once.
final class FirstResponse: Sendable {
    private let response: Mutex<Response?>

    init(_ response: Response) {
        self.response = Mutex(response)
    }

    /// The response, the first time; `nil` after.
    func take() -> Response? {
        response.withLock { response in
            defer { response = nil }
            return response
        }
    }
}
