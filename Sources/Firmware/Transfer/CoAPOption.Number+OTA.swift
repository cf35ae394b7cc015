import CoAP

/// The CoAP options of OTA protocol v3 (Device OS `communication/src/firmware_update.cpp`,
/// `OtaCoapOption`). All above 268, so their deltas use the two-byte extended form.
extension CoAPOption.Number {
    /// 2049 Chunk-Index: uint. 1-based index of an UpdateChunk; in UpdateAck, the number of chunks
    /// received contiguously from the start (0 as an empty value).
    public static let chunkIndex = CoAPOption.Number(rawValue: 2049)
    /// 2053 Window-Size: uint, chunks the device accepts beyond the contiguous ones (UpdateStart's
    /// 2.01).
    public static let windowSize = CoAPOption.Number(rawValue: 2053)
    /// 2057 File-Size: uint. In UpdateStart the file size; in its 2.01 the bytes the device kept
    /// from an interrupted transfer.
    public static let fileSize = CoAPOption.Number(rawValue: 2057)
    /// 2061 File-Sha-256: 32 bytes, the SHA-256 of the whole file; makes the transfer resumable.
    public static let fileSHA256 = CoAPOption.Number(rawValue: 2061)
    /// 2065 Chunk-Size: uint, 512–1136 and a multiple of 4.
    public static let chunkSize = CoAPOption.Number(rawValue: 2065)
    /// 2069 Discard-Data: empty. Drop any data kept from an interrupted transfer.
    public static let discardData = CoAPOption.Number(rawValue: 2069)
    /// 2073 Cancel-Update: empty, in UpdateFinish.
    public static let cancelUpdate = CoAPOption.Number(rawValue: 2073)
    /// 2077 Module-Function: uint (Device OS 5.5.0 and later).
    public static let moduleFunction = CoAPOption.Number(rawValue: 2077)
}
