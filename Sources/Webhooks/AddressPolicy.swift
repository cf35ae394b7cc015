/// Which addresses a webhook may call: by default only public ones, so that a webhook cannot
/// reach the server's own machine or its private network (SSRF).
///
/// Refused: loopback (127/8, ::1), unspecified (0/8, ::), private (10/8, 172.16/12,
/// 192.168/16, fc00::/7), link-local (169.254/16, fe80::/10, which holds cloud metadata
/// services), shared address space (100.64/10), benchmarking (198.18/15), IETF protocol
/// assignments (192.0.0/24), multicast and reserved (224/4, 240/4, ff00::/8), and IPv4 inside
/// IPv6 (`::ffff:a.b.c.d`, `64:ff9b::a.b.c.d`) by the IPv4 rules.
public enum AddressPolicy {
    /// Why an address is refused, or `nil` if it is public. `bytes` has 4 or 16 bytes.
    public static func restriction(of bytes: [UInt8]) -> String? {
        switch bytes.count {
        case 4: return restriction(ipv4: bytes)
        case 16: return restriction(ipv6: bytes)
        default: return "not an IP address"
        }
    }

    static func restriction(ipv4 b: [UInt8]) -> String? {
        switch (b[0], b[1]) {
        case (127, _): return "a loopback address"
        case (0, _): return "an unspecified address"
        case (10, _), (192, 168): return "a private address"
        case (172, 16...31): return "a private address"
        case (169, 254): return "a link-local address"
        case (100, 64...127): return "a shared (carrier-grade NAT) address"
        case (198, 18...19): return "a benchmarking address"
        case (192, 0) where b[2] == 0: return "a reserved address"
        case (224...239, _): return "a multicast address"
        case (240...255, _): return "a reserved address"
        default: return nil
        }
    }

    static func restriction(ipv6 b: [UInt8]) -> String? {
        if b[0..<15].allSatisfy({ $0 == 0 }) {
            return b[15] == 1 ? "a loopback address" : "an unspecified address"
        }
        // IPv4-mapped ::ffff:a.b.c.d and IPv4-compatible ::a.b.c.d
        if b[0..<10].allSatisfy({ $0 == 0 }), (b[10] == 0xFF && b[11] == 0xFF) || (b[10] == 0 && b[11] == 0) {
            return restriction(ipv4: Array(b[12..<16]))
        }
        // NAT64 64:ff9b::a.b.c.d
        if b[0] == 0x00, b[1] == 0x64, b[2] == 0xFF, b[3] == 0x9B, b[4..<12].allSatisfy({ $0 == 0 }) {
            return restriction(ipv4: Array(b[12..<16]))
        }
        if b[0] & 0xFE == 0xFC { return "a private (unique local) address" }
        if b[0] == 0xFE, b[1] & 0xC0 == 0x80 { return "a link-local address" }
        if b[0] == 0xFF { return "a multicast address" }
        return nil
    }
}
