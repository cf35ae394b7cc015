/// Random access to the bytes of a firmware file, so that validation and transfers read it a
/// piece at a time instead of holding it whole (a server flashing many devices must not hold the
/// file once per device).
///
/// `[UInt8]` conforms (slices share its storage, nothing is copied); ``FirmwareFile`` reads a
/// file on disk with positional reads.
public protocol FirmwareImage: Sendable {
    /// The length of the image in bytes.
    var count: Int { get }

    /// The bytes in `range`, which lies within `0..<count`.
    ///
    /// - Throws: ``FirmwareError/unreadable(_:)`` if they cannot be read.
    func bytes(in range: Range<Int>) throws(FirmwareError) -> ArraySlice<UInt8>
}

extension Array: FirmwareImage where Element == UInt8 {
    /// The slice `self[range]`, sharing the array's storage.
    public func bytes(in range: Range<Int>) throws(FirmwareError) -> ArraySlice<UInt8> {
        guard range.lowerBound >= 0, range.upperBound <= self.count else {
            throw .unreadable("bytes \(range) are outside the \(self.count)-byte image")
        }
        return self[range]
    }
}
