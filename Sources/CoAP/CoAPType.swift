/// The CoAP message type, the two `TT` bits of the first header byte.
public enum CoAPType: UInt8, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    /// Confirmable (CON): the receiver must acknowledge it.
    case confirmable = 0
    /// Non-confirmable (NON).
    case nonConfirmable = 1
    /// Acknowledgement (ACK): reuses the message ID of the CON it answers.
    case acknowledgement = 2
    /// Reset (RST): reuses the message ID of the message it rejects.
    case reset = 3

    /// The conventional abbreviation: `CON`, `NON`, `ACK` or `RST`.
    public var description: String {
        switch self {
        case .confirmable: "CON"
        case .nonConfirmable: "NON"
        case .acknowledgement: "ACK"
        case .reset: "RST"
        }
    }
}
