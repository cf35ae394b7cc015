import Crypto

/// Application modules built byte by byte from the module layout (prefix, body, suffix with the
/// product fields and SHA-256, CRC-32), for tests, simulators and benchmarks: they pass every
/// check of ``ValidatedFirmware`` for a device of their platform that runs the system part the
/// simulators describe (index 1, version 5002).
public enum SyntheticApplication {
    /// A user part of `size` bytes in all for `platformID`, with `productVersion` in its suffix;
    /// `seed` varies the body (and so the hash).
    public static func bytes(size: Int, platformID: UInt16 = 3, productVersion: UInt16 = 3, seed: UInt8 = 1)
        -> [UInt8]
    {
        let suffixSize = 40
        let length = 24 + (size - 24 - suffixSize - 4) + suffixSize + 4
        let start: UInt32 = 0x000B_4000
        var bytes = le32(start) + le32(start + UInt32(length - 4))
        bytes += [0, 0] + le16(6) + le16(platformID) + [5, 1]
        bytes += [4, 1] + le16(5002) + [0, 0, 0, 0]
        bytes += (0..<(size - 24 - suffixSize - 4)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(seed)) }
        bytes += le16(platformID) + le16(productVersion) + [0, 0]
        bytes += Array(SHA256.hash(data: bytes))
        bytes += le16(UInt16(suffixSize))
        let crc = CRC32.checksum(bytes)
        bytes += [UInt8(crc >> 24), UInt8(crc >> 16 & 0xFF), UInt8(crc >> 8 & 0xFF), UInt8(crc & 0xFF)]
        return bytes
    }

    /// A `multipart/form-data` body with `file` as the `file` part and `fields` before it.
    public static func multipart(
        _ file: [UInt8],
        fields: [(String, String)] = [],
        boundary: String = "aerosol-boundary-7MA4YWxkTrZu0gW"
    ) -> (contentType: String, body: [UInt8]) {
        var body: [UInt8] = []
        for (name, value) in fields {
            body += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n".utf8)
        }
        body += Array(
            ("--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"firmware.bin\"\r\n"
                + "Content-Type: application/octet-stream\r\n\r\n").utf8
        )
        body += file
        body += Array("\r\n--\(boundary)--\r\n".utf8)
        return ("multipart/form-data; boundary=\(boundary)", body)
    }

    private static func le16(_ value: UInt16) -> [UInt8] { [UInt8(value & 0xFF), UInt8(value >> 8)] }
    private static func le32(_ value: UInt32) -> [UInt8] {
        le16(UInt16(value & 0xFFFF)) + le16(UInt16(value >> 16))
    }
}
