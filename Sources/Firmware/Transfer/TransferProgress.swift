/// How far a transfer has got.
public struct TransferProgress: Hashable, Sendable {
    /// Bytes the device holds: acknowledged chunks (and, for OTA v3, the bytes it kept from an
    /// interrupted transfer); in legacy fast OTA, where the device acknowledges nothing until the
    /// end, bytes sent.
    public var bytesDone: Int
    /// The file size.
    public var totalBytes: Int
    /// Chunks done in the current attempt.
    public var chunksDone: Int
    /// Chunks in the current attempt (for OTA v3, of the part not held already).
    public var chunkCount: Int
    /// The attempt, from 1: a legacy transfer starts again from zero after a reconnect, a v3
    /// transfer resumes.
    public var attempt: Int

    /// Creates a progress record.
    public init(bytesDone: Int, totalBytes: Int, chunksDone: Int, chunkCount: Int, attempt: Int) {
        self.bytesDone = bytesDone
        self.totalBytes = totalBytes
        self.chunksDone = chunksDone
        self.chunkCount = chunkCount
        self.attempt = attempt
    }
}
