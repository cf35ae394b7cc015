import DeviceGateway

extension APIError {
    /// The API's answer when a device request fails: not connected
    /// and unknown names 404, no answer in time 408, too many waiting 429, an argument the
    /// device refuses 400, anything else the device got wrong 502.
    init(_ error: GatewayError) {
        switch error {
        case .notConnected(): self = .notFound("Device is not connected")
        case .unknownVariable(""): self = .notFound("Variable not found")
        case .unknownFunction(""): self = .notFound("Function not found")
        case .timedOut(""): self = .resource(.requestTimeout, "Timed out.")
        case .busy(""): self = .resource(.tooManyRequests, "Too many requests are waiting for this device: \(error)")
        case .argumentTooLong(""): self = .badRequest("The argument is too long for the device's firmware")
        default: self = .resource(.badGateway, "The device failed the request: \(error)")
        }
    }
}
