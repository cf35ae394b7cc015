#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A firmware file on disk, read with positional reads (`pread`) a piece at a time.
///
/// `@unchecked Sendable` is safe: the stored properties never change after `init`, `pread` keeps
/// no file position (concurrent reads from several transfers do not interfere), and the
/// descriptor is closed only in `deinit`, when no reference is left.
public final class FirmwareFile: FirmwareImage, @unchecked Sendable {
    private let descriptor: Int32
    /// The file's path, for messages.
    public let path: String
    /// The file's length when it was opened.
    public let count: Int

    /// Opens `path` for reading.
    ///
    /// - Throws: ``FirmwareError/unreadable(_:)`` if it cannot be opened or is not a regular file.
    public init(path: String) throws(FirmwareError) {
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { throw .unreadable("cannot open \(path) (errno \(errno))") }
        var info = stat()
        guard fstat(descriptor, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
            close(descriptor)
            throw .unreadable("\(path) is not a regular file")
        }
        self.descriptor = descriptor
        self.path = path
        self.count = Int(info.st_size)
    }

    deinit {
        close(self.descriptor)
    }

    /// Reads `range` from the file.
    public func bytes(in range: Range<Int>) throws(FirmwareError) -> ArraySlice<UInt8> {
        guard range.lowerBound >= 0, range.upperBound <= self.count else {
            throw .unreadable("bytes \(range) are outside the \(self.count)-byte file \(self.path)")
        }
        var bytes = [UInt8](repeating: 0, count: range.count)
        var done = 0
        while done < range.count {
            let read = bytes.withUnsafeMutableBytes { buffer in
                pread(self.descriptor, buffer.baseAddress! + done, range.count - done, off_t(range.lowerBound + done))
            }
            if read < 0, errno == EINTR { continue }
            guard read > 0 else { throw .unreadable("\(self.path) ended or failed at byte \(range.lowerBound + done)") }
            done += read
        }
        return bytes[...]
    }
}
