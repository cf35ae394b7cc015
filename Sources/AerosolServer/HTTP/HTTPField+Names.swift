import HTTPTypes

extension HTTPField.Name {
    /// `Pragma`, sent with OAuth responses as the original does.
    static let pragma = HTTPField.Name("Pragma")!
    /// `Last-Event-ID`, sent by `EventSource` when it reconnects.
    static let lastEventID = HTTPField.Name("Last-Event-ID")!
    /// `X-Accel-Buffering: no` keeps reverse proxies from buffering streams.
    static let accelBuffering = HTTPField.Name("X-Accel-Buffering")!
    /// `X-CSRF-Token`: the console session's CSRF token on requests that change something.
    static let csrfToken = HTTPField.Name("X-CSRF-Token")!
    /// `X-Forwarded-Proto`: how the client reached a reverse proxy in front of the server.
    static let xForwardedProto = HTTPField.Name("X-Forwarded-Proto")!
    static let xForwardedFor = HTTPField.Name("X-Forwarded-For")!
    static let xRequestID = HTTPField.Name("X-Request-ID")!
}
