// swift-crypto 3.12.3 does not mark its keys and digests Sendable, though they are
// immutable values (or copy-on-write, for SHA256); the module has no strict concurrency.
@preconcurrency import Crypto

/// The TLS 1.2 pseudo-random function (RFC 5246 §5): `P_SHA256(secret, label ‖ seed)`.
///
/// TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8 uses SHA-256 as its PRF hash (RFC 6655 §3), as every
/// TLS 1.2 suite without its own PRF does.
public enum PRF {
    /// Returns the first `count` bytes of `P_SHA256(secret, label ‖ seed)`.
    ///
    /// - Parameters:
    ///   - secret: the PRF secret (pre-master or master secret).
    ///   - label: an ASCII label such as `"master secret"`, without a terminator.
    ///   - seed: the seed bytes (for example the two hello randoms).
    ///   - count: how many bytes to produce.
    public static func sha256(
        secret: some Collection<UInt8>,
        label: String,
        seed: some Collection<UInt8>,
        count: Int
    ) -> [UInt8] {
        let key = SymmetricKey(data: Array(secret))
        var labelAndSeed = Array(label.utf8)
        labelAndSeed.append(contentsOf: seed)
        // The keyed state is computed once and copied, rather than re-deriving the HMAC pads for
        // each of the 2 × ⌈count / 32⌉ HMAC computations.
        let keyed = HMAC<SHA256>(key: key)
        var output: [UInt8] = []
        output.reserveCapacity(count + 32)
        var a = labelAndSeed  // A(0)
        while output.count < count {
            var next = keyed
            next.update(data: a)
            a = Array(next.finalize())  // A(i) = HMAC(secret, A(i-1))
            var block = keyed
            block.update(data: a)
            block.update(data: labelAndSeed)
            output.append(contentsOf: block.finalize())
        }
        output.removeLast(output.count - count)
        return output
    }
}
