import CoAP

/// How a device answered a ``DeviceRequest``.
public enum DeviceResponse: Hashable, Sendable {
    /// Success (2.xx, or the ACK of a signal), with the payload (a variable's value, a
    /// function's int32 return value, a Describe document).
    case success(payload: [UInt8])
    /// The device refused with a 4.xx or 5.xx code (4.04: unknown variable or function; 4.00 to
    /// a function call: argument too long).
    case failure(CoAPCode)
    /// The device answered with a reset: it did not understand the request.
    case reset
}
