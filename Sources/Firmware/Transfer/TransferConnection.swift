/// One connection of the device as a transfer sees it: the transport and the token the gateway
/// reserved for the transfer on it.
public struct TransferConnection: Hashable, Sendable {
    /// TCP or UDP.
    public var transport: Transport
    /// The one-byte token every token-carrying request of the transfer uses (Device OS accepts
    /// tokens of 0 or 1 byte). The session must not give it to another request while the
    /// transfer runs: answers are matched to the transfer by it.
    public var token: UInt8

    /// Creates a connection description.
    public init(transport: Transport, token: UInt8) {
        self.transport = transport
        self.token = token
    }
}
