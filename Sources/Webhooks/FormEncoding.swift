/// `application/x-www-form-urlencoded` as Node's `querystring.stringify` writes it (what the
/// original uses): every byte but `A–Z a–z 0–9 - _ . ! ~ * ' ( )` is percent-encoded, and a
/// space is `%20`.
enum FormEncoding {
    static func encode(_ pairs: [(String, String)]) -> String {
        pairs.map { escape($0.0) + "=" + escape($0.1) }.joined(separator: "&")
    }

    static func escape(_ text: String) -> String {
        PercentEncoding.encode(text, keeping: unreserved)
    }

    /// Pairs with `overrides` applied: a key already present takes the new value in place,
    /// a new key goes at the end.
    static func merge(_ base: [(String, String)], _ overrides: [(String, String)]) -> [(String, String)] {
        var merged = base
        for (key, value) in overrides {
            if let index = merged.firstIndex(where: { $0.0 == key }) {
                merged[index].1 = value
            } else {
                merged.append((key, value))
            }
        }
        return merged
    }

    private static let unreserved: Set<UInt8> = Set(
        Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.!~*'()".utf8)
    )
}
