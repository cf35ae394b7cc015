import Firmware

/// Application modules for firmware update tests (see ``SyntheticApplication``, which builds
/// them; the benchmarks use it too).
public enum TestFirmware {
    /// A user part of `size` bytes in all for `platformID`, depending on the system part the
    /// simulator describes (index 1, version 5002); `seed` varies the body (and so the hash).
    public static func application(size: Int, platformID: UInt16 = 3, productVersion: UInt16 = 3, seed: UInt8 = 1)
        -> [UInt8]
    {
        SyntheticApplication.bytes(size: size, platformID: platformID, productVersion: productVersion, seed: seed)
    }

    /// A `multipart/form-data` body with `file` as the `file` part and `fields` before it.
    public static func multipart(
        _ file: [UInt8],
        fields: [(String, String)] = [],
        boundary: String = "aerosol-boundary-7MA4YWxkTrZu0gW"
    ) -> (contentType: String, body: [UInt8]) {
        SyntheticApplication.multipart(file, fields: fields, boundary: boundary)
    }
}
