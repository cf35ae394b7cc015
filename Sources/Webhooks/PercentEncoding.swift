/// Percent-encoding of UTF-8 text: every byte outside `allowed` becomes `%XX` (upper-case hex).
enum PercentEncoding {
    static func encode(_ text: String, keeping allowed: Set<UInt8>) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            if allowed.contains(byte) {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                out += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return out
    }
}
