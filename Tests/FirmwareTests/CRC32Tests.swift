import Firmware
import Testing

@Suite struct CRC32Tests {
    @Test func checkValueOfTheStandardCRC32() {
        #expect(CRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
        #expect(CRC32.checksum([UInt8]()) == 0)
        // zlib's crc32 of one zero byte.
        #expect(CRC32.checksum([0x00]) == 0xD202_EF8D)
    }

    @Test func incrementalUpdatesEqualOneShot() {
        var generator = SplitMix64(seed: 7)
        let bytes = (0..<5000).map { _ in UInt8.random(in: 0...255, using: &generator) }
        var crc = CRC32()
        var position = 0
        while position < bytes.count {
            let end = min(bytes.count, position + Int.random(in: 1...700, using: &generator))
            crc.update(bytes[position..<end])
            position = end
        }
        #expect(crc.value == CRC32.checksum(bytes))
        // A non-contiguous collection takes the same path.
        #expect(CRC32.checksum(bytes.lazy.map { $0 }) == CRC32.checksum(bytes))
    }
}
