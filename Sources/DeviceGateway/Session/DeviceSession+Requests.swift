import CoAP
import DeviceProtocol

/// Requests from the cloud to the device, matched to their answers: the device ACKs the CON at once (empty ACK), then answers separately with the
/// request's token (a NON or CON 2.05/2.04), or piggybacks the answer on the ACK (older
/// firmware). A signal is done when it is ACKed; an RST or a 4.xx/5.xx ends a request too.
extension DeviceSession {
    /// Sends `request`: returns the token its answer will carry and the message to write, or
    /// `nil` if the device has not said Hello, the session is closed, or 255 requests are in
    /// flight already.
    public mutating func start(_ request: DeviceRequest) -> (token: UInt8, message: CoAPMessage)? {
        guard self.state == .established else { return nil }
        return self.send(request, isInternal: false)
    }

    /// Gives up on the request sent with `token` (it timed out); a late answer is ignored.
    public mutating func abandon(_ token: UInt8) {
        self.pending.remove(token)
    }

    /// The number of requests waiting for the device's answer.
    public var requestsInFlight: Int { self.pending.count }

    /// The server's own ping, sent when the device has been silent for a while: a CON
    /// without a code that the device ACKs. If the previous ping is still unanswered, the
    /// device is gone: close.
    public mutating func ping() -> Action {
        guard self.state != .closed else { return .close(reason: "closed") }
        guard self.outstandingPing == nil else {
            self.state = .closed
            return .close(reason: "the device did not answer the server's ping")
        }
        let messageID = self.messageIDs.next()
        self.outstandingPing = messageID
        return .send(CoAPMessage(type: .confirmable, code: .empty, messageID: messageID))
    }

    mutating func send(_ request: DeviceRequest, isInternal: Bool) -> (token: UInt8, message: CoAPMessage)? {
        let messageID = self.messageIDs.next()
        let entry = PendingRequests.Entry(request: request, messageID: messageID, isInternal: isInternal)
        guard let token = self.pending.insert(entry) else { return nil }
        return (token, request.message(messageID: messageID, token: token))
    }

    /// An ACK or RST from the device: the answer to a ping or to a request's CON.
    mutating func answer(_ message: CoAPMessage) -> [Action] {
        if message.messageID == self.outstandingPing {
            self.outstandingPing = nil
            return []
        }
        guard let token = self.pending.token(forMessageID: message.messageID), var entry = self.pending[token]
        else { return [] }
        if message.type == .reset { return self.complete(token, .reset) }
        guard message.code == .empty else {
            // Piggybacked: the answer rides on the ACK.
            return self.response(token, message)
        }
        if entry.request.completesOnAcknowledgement { return self.complete(token, .success(payload: [])) }
        entry.acknowledged = true
        self.pending[token] = entry
        return []
    }

    /// A separate response (CON or NON with a 2.xx–5.xx code), matched by its token.
    mutating func separateResponse(_ message: CoAPMessage) -> [Action] {
        var actions: [Action] = message.type == .confirmable ? [.send(message.emptyAcknowledgement)] : []
        if message.token.count == 1, let token = message.token.first, self.pending[token] != nil {
            actions += self.response(token, message)
        }
        return actions
    }

    private mutating func response(_ token: UInt8, _ message: CoAPMessage) -> [Action] {
        guard var entry = self.pending[token] else { return [] }
        guard message.code.codeClass == 2 else { return self.complete(token, .failure(message.code)) }
        entry.received += message.payload
        if case .describe = entry.request,
            let block = message.options.first(where: { $0.number == .block2 })?.uintValue,
            block & 0x08 != 0
        {
            // Block2 (RFC 7959): more blocks follow; ask for the next one with the same size.
            guard entry.received.count <= Self.maximumDescribeBytes else {
                return self.complete(token, .failure(.requestEntityTooLarge))
            }
            let next = ((block >> 4) + 1) << 4 | (block & 0x07)
            entry.messageID = self.messageIDs.next()
            entry.acknowledged = false
            self.pending[token] = entry
            return [.send(entry.request.message(messageID: entry.messageID, token: token, block: next))]
        }
        self.pending.remove(token)
        return self.finish(entry, token: token, .success(payload: entry.received))
    }

    private mutating func complete(_ token: UInt8, _ response: DeviceResponse) -> [Action] {
        guard let entry = self.pending.remove(token) else { return [] }
        return self.finish(entry, token: token, response)
    }

    private func finish(_ entry: PendingRequests.Entry, token: UInt8, _ response: DeviceResponse) -> [Action] {
        var actions: [Action] = []
        // Every Describe answer is recorded, whoever asked; a failed one is not worth a close.
        if case .describe = entry.request, case .success(let payload) = response,
            let describe = try? Describe(json: payload)
        {
            actions.append(.described(describe, document: payload))
        }
        if !entry.isInternal { actions.append(.complete(token: token, response)) }
        return actions
    }
}
