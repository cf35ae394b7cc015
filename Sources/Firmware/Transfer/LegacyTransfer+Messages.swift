import CoAP
import Foundation

/// The messages of the legacy protocol, byte for byte as Device OS parses them: it reads fixed
/// offsets after a one-byte token and a one-byte Uri-Path (`b1 <letter>`), and takes the order
/// of the Uri-Query options as their meaning (`chunked_transfer.cpp handle_update_begin`,
/// `handle_chunk`).
extension LegacyTransfer {
    /// UpdateBegin, CON POST `/u`: `41 02 mid tk b1 75 ff` + flags (bit 0: fast OTA), chunk size
    /// (2, BE), file size (4, BE), store 0 (firmware, the only one accepted), address 0 (4, BE).
    /// The device reads the payload only if `ff` is at byte 7 and the message has ≥ 20 bytes.
    static func updateBegin(messageID: UInt16, token: UInt8, fast: Bool, chunkSize: Int, fileSize: Int) -> CoAPMessage {
        var payload: [UInt8] = [fast ? 0x01 : 0x00]
        payload += [UInt8(truncatingIfNeeded: chunkSize >> 8), UInt8(truncatingIfNeeded: chunkSize)]
        payload += (0..<4).map { UInt8(truncatingIfNeeded: fileSize >> (24 - 8 * $0)) }
        payload += [0x00, 0x00, 0x00, 0x00, 0x00]
        var message = CoAPMessage(
            type: .confirmable,
            code: .post,
            messageID: messageID,
            token: [token],
            payload: payload
        )
        message.appendPath("u")
        return message
    }

    /// A chunk, POST `/c`: Uri-Query CRC-32 of the data (4, BE), then in fast mode Uri-Query
    /// chunk index (2, BE); CON in normal mode (`41 02 mid tk b1 63 44 crc ff data`), NON in fast
    /// mode (`51 02 mid tk b1 63 44 crc 02 idx ff data`).
    static func chunk(messageID: UInt16, token: UInt8, data: ArraySlice<UInt8>, index: UInt16?) -> CoAPMessage {
        let crc = CRC32.checksum(data)
        var message = CoAPMessage(
            type: index == nil ? .confirmable : .nonConfirmable,
            code: .post,
            messageID: messageID,
            token: [token],
            payload: Array(data)
        )
        message.appendPath("c")
        message.appendQuery((0..<4).map { UInt8(truncatingIfNeeded: crc >> (24 - 8 * $0)) })
        if let index { message.appendQuery([UInt8(index >> 8), UInt8(index & 0xFF)]) }
        return message
    }

    /// UpdateDone, CON PUT `/u`: `41 03 mid tk b1 75`.
    static func updateDone(messageID: UInt16, token: UInt8) -> CoAPMessage {
        var message = CoAPMessage(type: .confirmable, code: .put, messageID: messageID, token: [token])
        message.appendPath("u")
        return message
    }

    /// `N` from UpdateDone's `{"r":N}`, or `nil` without such a payload (older firmware sends
    /// none).
    static func updateResult(_ payload: [UInt8]) -> Int? {
        struct Result: Decodable {
            var r: Int?
        }
        guard !payload.isEmpty else { return nil }
        return (try? JSONDecoder().decode(Result.self, from: Data(payload)))?.r
    }
}
