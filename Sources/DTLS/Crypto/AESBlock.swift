/// One 16-byte AES block held inline (no heap allocation), for the CCM loops.
///
/// It offers contiguous mutable storage, so `AES.permute` encrypts it in place without copying.
/// The storage is a homogeneous tuple of `UInt8`, whose memory is bound to `UInt8`, so viewing
/// it as a `UInt8` buffer is well-defined (the same technique as swift-crypto's `AES.Block`).
struct AESBlock: MutableCollection, RandomAccessCollection {
    private var storage:
        (
            UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
            UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8
        ) = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)

    var startIndex: Int { 0 }
    var endIndex: Int { 16 }

    subscript(position: Int) -> UInt8 {
        get {
            precondition(position >= 0 && position < 16)
            return withUnsafeBytes(of: self.storage) { $0[position] }
        }
        set {
            precondition(position >= 0 && position < 16)
            withUnsafeMutableBytes(of: &self.storage) { $0[position] = newValue }
        }
    }

    mutating func withContiguousMutableStorageIfAvailable<Result>(
        _ body: (inout UnsafeMutableBufferPointer<UInt8>) throws -> Result
    ) rethrows -> Result? {
        try withUnsafeMutablePointer(to: &self.storage) { tuple in
            let start = UnsafeMutableRawPointer(tuple).assumingMemoryBound(to: UInt8.self)
            var buffer = UnsafeMutableBufferPointer(start: start, count: 16)
            return try body(&buffer)
        }
    }

    func withContiguousStorageIfAvailable<Result>(
        _ body: (UnsafeBufferPointer<UInt8>) throws -> Result
    ) rethrows -> Result? {
        try withUnsafePointer(to: self.storage) { tuple in
            let start = UnsafeRawPointer(tuple).assumingMemoryBound(to: UInt8.self)
            return try body(UnsafeBufferPointer(start: start, count: 16))
        }
    }
}
