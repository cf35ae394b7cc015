import CoAP
import DeviceProtocol

/// The simulated firmware's side of the cloud's requests, answered the
/// way Device OS does: an empty ACK at once, then the result as a separate message.
extension SimulatedDevice {
    /// Answers one request or event delivery from the server.
    func handle(_ message: CoAPMessage) {
        guard application.withLock({ $0.isResponsive }) else { return }
        let letter = message.uriPath.first ?? ""
        let name = message.uriPath.dropFirst().joined(separator: "/")
        switch (message.code, letter) {
        case (.get, "d"):
            guard let flags = message.uriQuery.first?.first else {
                // Device OS 3.3 and later refuse a Describe without flags.
                reply(message, code: .badRequest)
                return
            }
            let userModule = firmware?.describeEntry
            let document = application.withLock {
                $0.describeDocument(flags: flags, hello: hello, userModule: userModule)
            }
            answerSeparately(message, code: .content, payload: document, confirmable: true)
        case (.get, "v"):
            guard let value = application.withLock({ $0.variables[name] }) else {
                reply(message, code: .notFound)
                return
            }
            answerSeparately(message, code: .content, payload: value.payload, confirmable: false)
        case (.post, "f"):
            let argument = String(decoding: message.uriQuery.first ?? [], as: UTF8.self)
            let (function, limit) = application.withLock { ($0.functions[name], $0.maximumArgumentBytes) }
            guard let function else {
                reply(message, code: .notFound)
                return
            }
            guard argument.utf8.count <= limit else {
                reply(message, code: .badRequest)
                return
            }
            let result = UInt32(bitPattern: function(argument))
            let payload = [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: result >> $0) }
            answerSeparately(message, code: .changed, payload: payload, confirmable: false)
        case (.put, "s"):
            signaling.withLock { $0 = message.uriQuery.first?.first.map { $0 != 0 } ?? false }
            reply(message, code: .empty)
        case (.post, "e"), (.post, "E"):
            if message.type == .confirmable { send(message.emptyAcknowledgement) }
            received.yield(
                ReceivedEvent(
                    name: name,
                    data: message.payload.isEmpty ? nil : String(decoding: message.payload, as: UTF8.self)
                )
            )
        default:
            if message.type == .confirmable { reply(message, code: .notFound) }
        }
    }

    /// A piggybacked ACK (or an empty one for `.empty`).
    private func reply(_ message: CoAPMessage, code: CoAPCode) {
        guard message.type == .confirmable else { return }
        send(code == .empty ? message.emptyAcknowledgement : message.acknowledgement(code: code))
    }

    /// An empty ACK now, then the result with the request's token in a message of its own.
    private func answerSeparately(_ message: CoAPMessage, code: CoAPCode, payload: [UInt8], confirmable: Bool) {
        if message.type == .confirmable { send(message.emptyAcknowledgement) }
        send(
            CoAPMessage(
                type: confirmable ? .confirmable : .nonConfirmable,
                code: code,
                messageID: nextMessageID(),
                token: message.token,
                payload: payload
            )
        )
    }
}
