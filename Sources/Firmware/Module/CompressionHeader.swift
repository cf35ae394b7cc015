/// The header in front of a compressed module's DEFLATE data (Device OS
/// `compressed_module_header`; binary-version-reader `compressModule`): 8 bytes LE.
public struct CompressionHeader: Hashable, Sendable {
    /// Header size; 8.
    public var size: UInt16
    /// Method; 0 is raw DEFLATE, the only one defined.
    public var method: UInt8
    /// DEFLATE window bits; 0 means 15.
    public var windowBits: UInt8
    /// Size of the module once decompressed.
    public var originalSize: UInt32

    /// Creates a header.
    public init(size: UInt16 = 8, method: UInt8 = 0, windowBits: UInt8 = 0, originalSize: UInt32) {
        self.size = size
        self.method = method
        self.windowBits = windowBits
        self.originalSize = originalSize
    }

    /// Whether the device can decompress this: an 8-byte raw-DEFLATE header with a window of 8–15
    /// bits (or 0) and a non-zero original size.
    public var isValid: Bool {
        self.size == 8 && self.method == 0 && (self.windowBits == 0 || (8...15).contains(self.windowBits))
            && self.originalSize > 0
    }
}
