import CoAP

/// The messages of OTA protocol v3, as the Device OS unit test
/// `test/unit_tests/communication/firmware_update.cpp` asserts them. Every request starts with
/// the one-byte Uri-Path the device dispatches on (`b1 <letter>`).
extension V3Transfer {
    /// UpdateStart, CON POST `/S` with a token: File-Size, File-Sha-256, Chunk-Size and optionally
    /// Discard-Data (`41 02 mid tk b1 53 e2 06 f1 <size> 4d 13 <sha> 42 02 00 [40]`).
    /// Module-Function (2077), which Device OS 5.5.0 and later accept, is optional and left out:
    /// devices before 5.5.0 do not know it, and the file itself says what the module is.
    static func updateStart(
        messageID: UInt16,
        token: UInt8,
        fileSize: Int,
        fileSHA256: [UInt8],
        chunkSize: Int,
        discard: Bool
    ) -> CoAPMessage {
        var message = CoAPMessage(type: .confirmable, code: .post, messageID: messageID, token: [token])
        message.appendPath("S")
        message.options.append(CoAPOption(.fileSize, uint: UInt32(clamping: fileSize)))
        message.options.append(CoAPOption(.fileSHA256, value: fileSHA256))
        message.options.append(CoAPOption(.chunkSize, uint: UInt32(clamping: chunkSize)))
        if discard { message.options.append(CoAPOption(.discardData, value: [])) }
        return message
    }

    /// UpdateChunk, NON POST `/C` without a token: Chunk-Index and the data
    /// (`50 02 mid b1 43 e1 06 e9 <index> ff <data>`).
    static func updateChunk(messageID: UInt16, index: Int, data: ArraySlice<UInt8>) -> CoAPMessage {
        var message = CoAPMessage(type: .nonConfirmable, code: .post, messageID: messageID, payload: Array(data))
        message.appendPath("C")
        message.options.append(CoAPOption(.chunkIndex, uint: UInt32(clamping: index)))
        return message
    }

    /// UpdateFinish, CON POST `/F` with a token (`41 02 mid tk b1 46`); to cancel, with
    /// Discard-Data and Cancel-Update (`… b1 46 e0 06 fd 40`). Discard-Data alone on a normal
    /// finish is refused by Device OS 3.x, so it is never sent.
    static func updateFinish(messageID: UInt16, token: UInt8, cancel: Bool) -> CoAPMessage {
        var message = CoAPMessage(type: .confirmable, code: .post, messageID: messageID, token: [token])
        message.appendPath("F")
        if cancel {
            message.options.append(CoAPOption(.discardData, value: []))
            message.options.append(CoAPOption(.cancelUpdate, value: []))
        }
        return message
    }
}
