/// The standard reflected CRC-32 (polynomial 0xEDB88320, initial value and final XOR 0xFFFFFFFF):
/// zlib's `crc32`, which the module format uses for its trailing checksum and the legacy OTA
/// protocol for each chunk (Device OS `platform/MCU/nRF52840/src/flash_mal.c FLASH_VerifyCRC32`,
/// `communication/src/chunked_transfer.cpp`; binary-version-reader `utilities.crc32`). Check
/// value: `crc32("123456789") = 0xCBF43926`.
public struct CRC32: Hashable, Sendable {
    private var state: UInt32 = 0xFFFF_FFFF

    /// A CRC over no bytes yet.
    public init() {}

    /// Adds `bytes`.
    public mutating func update(_ bytes: some Collection<UInt8>) {
        let done: Void? = bytes.withContiguousStorageIfAvailable { buffer in
            self.update(buffer: UnsafeRawBufferPointer(buffer))
        }
        if done == nil {
            Array(bytes).withUnsafeBytes { self.update(buffer: $0) }
        }
    }

    private mutating func update(buffer: UnsafeRawBufferPointer) {
        var crc = self.state
        Self.table.withUnsafeBufferPointer { table in
            for byte in buffer {
                crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8)
            }
        }
        self.state = crc
    }

    /// The CRC of the bytes added so far.
    public var value: UInt32 { self.state ^ 0xFFFF_FFFF }

    /// The CRC-32 of `bytes`.
    public static func checksum(_ bytes: some Collection<UInt8>) -> UInt32 {
        var crc = CRC32()
        crc.update(bytes)
        return crc.value
    }

    private static let table: [UInt32] = (0..<256).map { index in
        var value = UInt32(index)
        for _ in 0..<8 {
            value = value & 1 == 1 ? (value >> 1) ^ 0xEDB8_8320 : value >> 1
        }
        return value
    }
}
