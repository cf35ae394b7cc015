/// Which addresses a webhook may call: by default only public ones, so that a webhook cannot
/// reach the server's own machine or its private network (SSRF).
///
/// IPv4, refused: loopback (127/8), "this network" (0/8), private (10/8, 172.16/12,
/// 192.168/16), link-local (169.254/16, which holds cloud metadata services), shared address
/// space (100.64/10), benchmarking (198.18/15), IETF protocol assignments (192.0.0/24),
/// documentation (192.0.2/24, 198.51.100/24, 203.0.113/24), the deprecated 6to4 relay anycast
/// (192.88.99/24), multicast (224/4) and reserved (240/4, broadcast included).
///
/// IPv6 is an allow-list: only global unicast (2000::/3) can be public, so everything outside
/// it is refused — loopback, unspecified, unique local (fc00::/7), link-local (fe80::/10), the
/// deprecated site-local (fec0::/10), multicast, discard-only (100::/64), SRv6 segment
/// identifiers (5f00::/16), local-use NAT64 (64:ff9b:1::/48), the deprecated IPv4-compatible
/// (::/96) and the IPv4-translated (::ffff:0:0:0/96) forms — except the two forms that stand
/// for an IPv4 host, IPv4-mapped (::ffff:0:0/96) and NAT64 (64:ff9b::/96), which are judged by
/// that IPv4 address. Inside 2000::/3, refused: IETF protocol assignments (2001::/23, Teredo's
/// 2001::/32 among them), documentation (2001:db8::/32, 3fff::/20), and 6to4 (2002::/16) and
/// ISATAP (interface id `0:5efe` or `200:5efe`) addresses whose embedded IPv4 address is
/// refused.
public enum AddressPolicy {
    /// Why an address is refused, or `nil` if it is public. `bytes` has 4 or 16 bytes.
    public static func restriction(of bytes: [UInt8]) -> String? {
        switch bytes.count {
        case 4: return restriction(ipv4: bytes)
        case 16: return restriction(ipv6: bytes)
        default: return "not an IP address"
        }
    }

    static func restriction(ipv4 b: some Collection<UInt8>) -> String? {
        let b = Array(b)
        switch (b[0], b[1], b[2]) {
        case (127, _, _): return "a loopback address"
        case (0, _, _): return "an unspecified address"
        case (10, _, _), (192, 168, _), (172, 16...31, _): return "a private address"
        case (169, 254, _): return "a link-local address"
        case (100, 64...127, _): return "a shared (carrier-grade NAT) address"
        case (198, 18...19, _): return "a benchmarking address"
        case (192, 0, 2), (198, 51, 100), (203, 0, 113): return "a documentation address"
        case (192, 0, 0), (192, 88, 99): return "a reserved address"
        case (224...239, _, _): return "a multicast address"
        case (240...255, _, _): return "a reserved address"
        default: return nil
        }
    }

    static func restriction(ipv6 b: [UInt8]) -> String? {
        func zero(_ range: Range<Int>) -> Bool { b[range].allSatisfy { $0 == 0 } }
        func starts(_ prefix: [UInt8]) -> Bool { b.starts(with: prefix) }

        if zero(0..<15) {
            return b[15] == 1 ? "a loopback address" : "an unspecified address"
        }
        // Forms that stand for an IPv4 host: the host decides.
        if zero(0..<10), b[10] == 0xFF, b[11] == 0xFF {
            return embedded("an IPv4-mapped", b[12..<16])
        }
        if starts([0x00, 0x64, 0xFF, 0x9B]), zero(4..<12) {
            return embedded("a NAT64", b[12..<16])
        }
        guard b[0] & 0xE0 == 0x20 else {
            // Outside global unicast nothing is a public host; name what is common.
            if b[0] & 0xFE == 0xFC { return "a private (unique local) address" }
            if b[0] == 0xFE, b[1] & 0xC0 == 0x80 { return "a link-local address" }
            if b[0] == 0xFE, b[1] & 0xC0 == 0xC0 { return "a site-local address" }
            if b[0] == 0xFF { return "a multicast address" }
            if starts([0x5F, 0x00]) { return "a reserved (segment routing) address" }
            if zero(0..<8), b[8] == 0xFF, b[9] == 0xFF, zero(10..<12) {
                return "an IPv4-translated (reserved) address"
            }
            if zero(0..<12) { return "an IPv4-compatible (deprecated) address" }
            return "a reserved address"
        }
        if starts([0x20, 0x01, 0x00, 0x00]) { return "a Teredo (tunnelled IPv4) address" }
        if starts([0x20, 0x01, 0x0D, 0xB8]) || (starts([0x3F, 0xFF]) && b[2] & 0xF0 == 0) {
            return "a documentation address"
        }
        if starts([0x20, 0x01]), b[2] & 0xFE == 0 { return "a reserved (IETF protocol assignment) address" }
        if starts([0x20, 0x02]), let why = embedded("a 6to4", b[2..<6]) { return why }
        // ISATAP puts the IPv4 tunnel end in the interface identifier under any prefix.
        if b[8] & 0xFD == 0, b[9] == 0, b[10] == 0x5E, b[11] == 0xFE, let why = embedded("an ISATAP", b[12..<16]) {
            return why
        }
        return nil
    }

    /// The reason an IPv6 form carrying `ipv4` is refused: that of the IPv4 address.
    private static func embedded(_ form: String, _ ipv4: ArraySlice<UInt8>) -> String? {
        guard let why = restriction(ipv4: ipv4) else { return nil }
        return "\(form) address of \(ipv4.map(String.init).joined(separator: ".")), \(why)"
    }
}
