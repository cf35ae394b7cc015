import CoAP

/// What a firmware transfer needs from the session it shares the connection with: a token no
/// request will use while the transfer runs, and message IDs from the session's own counter (so
/// that the device never sees an ID twice within its duplicate window).
extension DeviceSession {
    /// Reserves a token for a firmware transfer, or returns `nil` before Hello, after close, or
    /// when every token is in use. Answers carrying it are the transfer's, never a request's.
    public mutating func reserveFirmwareToken() -> UInt8? {
        guard self.state == .established else { return nil }
        // A placeholder entry holds the token; it is never sent, so no ACK can match its ID.
        let entry = PendingRequests.Entry(request: .ping, messageID: self.messageIDs.next(), isInternal: true)
        return self.pending.insert(entry)
    }

    /// Gives the token back once the transfer is over.
    public mutating func releaseFirmwareToken(_ token: UInt8) {
        self.pending.remove(token)
    }

    /// The next message ID for a message the transfer sends.
    public mutating func nextMessageID() -> UInt16 {
        self.messageIDs.next()
    }
}
