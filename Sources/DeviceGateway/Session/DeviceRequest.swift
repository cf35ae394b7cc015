import CoAP

/// A request the cloud sends to a connected device.
public enum DeviceRequest: Hashable, Sendable {
    /// GET `/d` with the flags query: `0x01` system, `0x02` application, `0x03` both.
    case describe(flags: UInt8)
    /// GET `/v/<name>`: read a variable.
    case variable(String)
    /// POST `/f/<name>` with the argument as a Uri-Query: call a function.
    case function(String, argument: String)
    /// PUT `/s` with flag `1` (start) or `0` (stop): make the device's LED signal.
    case signal(Bool)
    /// A CoAP ping (CON without a code or token): is the device there?
    case ping

    /// Whether the device answers with the ACK alone (signal), rather than with a separate or
    /// piggybacked response that carries the result.
    var completesOnAcknowledgement: Bool {
        switch self {
        case .signal, .ping: true
        case .describe, .variable, .function: false
        }
    }

    /// The CON message for this request with `messageID` and a one-byte `token` (Device OS keeps
    /// tokens of one byte). `block` asks for one Block2 block of a large Describe.
    public func message(messageID: UInt16, token: UInt8, block: UInt32? = nil) -> CoAPMessage {
        // A ping carries no token: its ACK (or RST) is matched by message ID.
        if case .ping = self { return CoAPMessage(type: .confirmable, code: .empty, messageID: messageID) }
        var message = CoAPMessage(type: .confirmable, code: .get, messageID: messageID, token: [token])
        switch self {
        case .describe(let flags):
            message.appendPath("d")
            message.appendQuery([flags])
            if let block { message.options.append(CoAPOption(.block2, uint: block)) }
        case .variable(let name):
            message.appendPath("v", name)
        case .function(let name, let argument):
            message.code = .post
            message.appendPath("f", name)
            // An empty argument is sent as a zero-length Uri-Query.
            message.appendQuery(Array(argument.utf8))
        case .ping:
            break
        case .signal(let on):
            // The flag must sit at offset 8: `41 03 mid tk b1 73 41 01`.
            message.code = .put
            message.appendPath("s")
            message.appendQuery([on ? 1 : 0])
        }
        return message
    }
}
