import Crypto
import Firmware

/// Builds firmware modules byte by byte from the layout (prefix, body, suffix, CRC), computing
/// the SHA-256 over everything before the SHA field and the CRC-32 over everything before it,
/// so tests can make good modules and then break exactly one thing.
struct ModuleBuilder {
    var startAddress: UInt32 = 0x000B_4000
    var mcuTarget: UInt8 = 0
    var flags: UInt8 = 0
    var moduleVersion: UInt16 = 6
    var platformID: UInt16 = 12
    var function: UInt8 = 5
    var index: UInt8 = 1
    var dependencies: [(function: UInt8, index: UInt8, version: UInt16)] = [(4, 1, 5800), (0, 0, 0)]
    /// Bytes in front of the prefix (a vector table), part of the module.
    var leading: [UInt8] = []
    /// Raw bytes right after the 24-byte prefix (extensions, a compression header).
    var afterPrefix: [UInt8] = []
    var body: [UInt8] = [UInt8](repeating: 0xAA, count: 16)
    /// `nil` for the 36-byte suffix without product fields.
    var product: (id: UInt16, version: UInt16)? = (12, 3)
    /// Suffix extension bytes in front of the product fields (suffix size grows by their count).
    var suffixExtensions: [UInt8] = []
    /// Overrides the suffix size field.
    var suffixSizeOverride: UInt16?
    /// Overrides the SHA-256 field.
    var shaOverride: [UInt8]?
    /// Overrides the stored CRC.
    var crcOverride: UInt32?

    /// The module's bytes.
    func build() -> [UInt8] {
        let productBytes = self.product.map { le16($0.id) + le16($0.version) } ?? []
        let suffixSize = 36 + productBytes.count + self.suffixExtensions.count
        let length = self.leading.count + 24 + self.afterPrefix.count + self.body.count + suffixSize + 4
        var prefix = le32(self.startAddress) + le32(self.startAddress + UInt32(length - 4))
        prefix += [self.mcuTarget, self.flags] + le16(self.moduleVersion) + le16(self.platformID)
        prefix += [self.function, self.index]
        for dependency in self.dependencies {
            prefix += [dependency.function, dependency.index] + le16(dependency.version)
        }
        var bytes = self.leading + prefix + self.afterPrefix + self.body + self.suffixExtensions + productBytes
        bytes += [0x00, 0x00]  // reserved
        let sha = self.shaOverride ?? Array(SHA256.hash(data: bytes))
        bytes += sha
        bytes += le16(self.suffixSizeOverride ?? UInt16(suffixSize))
        let crc = self.crcOverride ?? CRC32.checksum(bytes)
        bytes += [UInt8(crc >> 24), UInt8(crc >> 16 & 0xFF), UInt8(crc >> 8 & 0xFF), UInt8(crc & 0xFF)]
        return bytes
    }

    /// An application of `size` bytes in all (the body fills the rest), for transfer tests.
    static func application(size: Int, platformID: UInt16 = 12, seed: UInt64 = 1) -> [UInt8] {
        var builder = ModuleBuilder()
        builder.platformID = platformID
        var generator = SplitMix64(seed: seed)
        builder.body = (0..<(size - 84 + 16)).map { _ in UInt8.random(in: 0...255, using: &generator) }
        return builder.build()
    }
}

func le16(_ value: UInt16) -> [UInt8] { [UInt8(value & 0xFF), UInt8(value >> 8)] }
func le32(_ value: UInt32) -> [UInt8] { le16(UInt16(value & 0xFFFF)) + le16(UInt16(value >> 16)) }

/// Recomputes the SHA-256 and CRC-32 of a single module in place (after editing its bytes).
func resealed(_ module: [UInt8]) -> [UInt8] {
    var bytes = module
    let shaStart = bytes.count - 38
    bytes.replaceSubrange(shaStart..<(shaStart + 32), with: Array(SHA256.hash(data: bytes[0..<shaStart])))
    let crc = CRC32.checksum(bytes[0..<(bytes.count - 4)])
    bytes.replaceSubrange(
        (bytes.count - 4)...,
        with: [UInt8(crc >> 24), UInt8(crc >> 16 & 0xFF), UInt8(crc >> 8 & 0xFF), UInt8(crc & 0xFF)]
    )
    return bytes
}
