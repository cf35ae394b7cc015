/// How Device OS classifies an incoming message (`Messages::decodeType`), reproduced to check
/// that server requests dispatch as intended on the device.
///
/// The device looks only at the code, the type, the byte at offset `5 + tokenLength` (it assumes
/// the first option is a one-byte Uri-Path with header `b1`) and, for Signal, the byte at fixed
/// offset 8. It does not check the CoAP version.
public enum DeviceMessageKind: Hashable, Sendable {
    /// GET `/d`.
    case describe
    /// GET `/v`.
    case variableRequest
    /// POST `/f`.
    case functionCall
    /// PUT `/s` with a non-zero flag at offset 8.
    case signalStart
    /// PUT `/s` with a zero flag at offset 8.
    case signalStop
    /// POST `/e` or `/E`.
    case event
    /// POST `/h`.
    case hello
    /// GET `/t`, or any 2.05 (every 2.05 is taken as a time reply).
    case time
    /// POST `/u`.
    case updateBegin
    /// POST `/c`.
    case chunk
    /// PUT `/u`.
    case updateDone
    /// PUT `/k`.
    case keyChange
    /// CON with code 0.00.
    case ping
    /// Any other message with code 0.00 (empty ACK or RST).
    case emptyAcknowledgement
    /// Anything else.
    case other

    /// Classifies raw message bytes the way Device OS does.
    public init(classifying bytes: some Collection<UInt8>) {
        let bytes = Array(bytes)
        guard bytes.count >= 4 else {
            self = .other
            return
        }
        let tokenLength = Int(bytes[0] & 0x0F)
        let pathIndex = 5 + tokenLength
        let path = pathIndex < bytes.count ? bytes[pathIndex] : 0
        switch (bytes[1], path) {
        case (0x00, _):
            self = (bytes[0] >> 4) & 0x03 == 0 ? .ping : .emptyAcknowledgement
        case (0x45, _):
            self = .time
        case (0x01, UInt8(ascii: "d")): self = .describe
        case (0x01, UInt8(ascii: "v")): self = .variableRequest
        case (0x01, UInt8(ascii: "t")): self = .time
        case (0x02, UInt8(ascii: "f")): self = .functionCall
        case (0x02, UInt8(ascii: "e")), (0x02, UInt8(ascii: "E")): self = .event
        case (0x02, UInt8(ascii: "h")): self = .hello
        case (0x02, UInt8(ascii: "u")): self = .updateBegin
        case (0x02, UInt8(ascii: "c")): self = .chunk
        case (0x03, UInt8(ascii: "u")): self = .updateDone
        case (0x03, UInt8(ascii: "k")): self = .keyChange
        case (0x03, UInt8(ascii: "s")):
            self = bytes.count > 8 && bytes[8] != 0 ? .signalStart : .signalStop
        default:
            self = .other
        }
    }
}
