import Crypto

/// Checksums of an upload computed while it streams in (to disk, say), so that validating it
/// afterwards need not read it again: the SHA-256 of the whole file and, assuming it is a single
/// module, the CRC-32 of all but its last 4 bytes and the SHA-256 of all but its last 38.
///
/// Holds back the last 38 bytes seen, nothing more. Pass ``result`` to
/// ``ValidatedFirmware/init(validating:for:purpose:digest:)``.
/// Not `Sendable`: swift-crypto's `SHA256` is not. Keep it where the upload is read.
public struct UploadDigest {
    /// The checksums of a complete upload.
    public struct Result: Hashable, Sendable {
        /// Bytes seen.
        public var count: Int
        /// SHA-256 of all of them.
        public var fileSHA256: [UInt8]
        /// CRC-32 of all but the last 4 (a single module's CRC range).
        public var crc32: UInt32
        /// SHA-256 of all but the last 38 (a single module's suffix SHA range).
        public var moduleSHA256: [UInt8]
    }

    private var file = SHA256()
    private var module = SHA256()
    private var crc = CRC32()
    private var tail: [UInt8] = []
    private var count = 0

    /// An empty digest.
    public init() {}

    /// Adds the next piece of the upload.
    public mutating func append(_ bytes: some Collection<UInt8>) {
        let bytes = Array(bytes)
        self.count += bytes.count
        self.file.update(data: bytes)
        // Bytes leave the held-back tail once 38 newer ones have arrived.
        let combined = self.tail.count + bytes.count
        let release = max(0, combined - 38)
        let fromTail = min(release, self.tail.count)
        if fromTail > 0 {
            self.module.update(data: self.tail[..<fromTail])
            self.crc.update(self.tail[..<fromTail])
        }
        let fromBytes = release - fromTail
        if fromBytes > 0 {
            self.module.update(data: bytes[..<fromBytes])
            self.crc.update(bytes[..<fromBytes])
        }
        self.tail = Array(self.tail[fromTail...]) + bytes[fromBytes...]
    }

    /// The checksums of everything appended so far.
    public var result: Result {
        var crc = self.crc
        crc.update(self.tail.prefix(max(0, self.tail.count - 4)))
        return Result(
            count: self.count,
            fileSHA256: Array(self.file.finalize()),
            crc32: crc.value,
            moduleSHA256: Array(self.module.finalize())
        )
    }
}
