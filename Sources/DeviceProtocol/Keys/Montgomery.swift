import BigInt

/// Modular exponentiation for the RSA public operations of the handshake (`e` = 65537), by
/// Montgomery multiplication on 64-bit limbs (the CIOS method): about a hundred times faster
/// than BigInt's general `power`, which divides after every step. Not constant-time: use it only
/// with public exponents.
struct Montgomery {
    /// The modulus, least significant limb first.
    private let modulus: [UInt64]
    private let modulusValue: BigUInt
    /// `-modulus⁻¹ mod 2⁶⁴`.
    private let inverse: UInt64
    /// `R² mod modulus`, `R = 2^(64·count)`: multiplying by it enters the Montgomery domain.
    private let rSquared: [UInt64]

    /// A context for an odd `modulus`; `nil` for an even one.
    init?(modulus: BigUInt) {
        guard !modulus.isZero, modulus.words[0] & 1 == 1 else { return nil }
        let limbs = modulus.words.map { UInt64($0) }
        self.modulus = limbs
        self.modulusValue = modulus
        // Newton's iteration doubles the correct low bits each step: 1 → 64 in six steps.
        var inverse: UInt64 = 1
        for _ in 0..<6 { inverse = inverse &* (2 &- limbs[0] &* inverse) }
        self.inverse = 0 &- inverse
        let r2 = (BigUInt(1) << (2 * 64 * limbs.count)) % modulus
        self.rSquared = Self.limbs(r2, count: limbs.count)
    }

    /// `base^exponent mod modulus`.
    func power(_ base: BigUInt, _ exponent: BigUInt) -> BigUInt {
        let count = modulus.count
        guard !exponent.isZero else { return modulusValue == 1 ? 0 : 1 }
        // The multiplication needs its operands below the modulus.
        let base = base < modulusValue ? base : base % modulusValue
        let montgomeryBase = multiply(Self.limbs(base, count: count), rSquared)
        var result = montgomeryBase
        var bit = exponent.bitWidth - 2
        while bit >= 0 {
            result = multiply(result, result)
            if exponent[bitAt: bit] { result = multiply(result, montgomeryBase) }
            bit -= 1
        }
        var one = [UInt64](repeating: 0, count: count)
        one[0] = 1
        // Leaving the domain: `result · 1 · R⁻¹`.
        return BigUInt(words: multiply(result, one).map { UInt($0) })
    }

    /// `a · b · R⁻¹ mod modulus` for `a, b < modulus`.
    private func multiply(_ a: [UInt64], _ b: [UInt64]) -> [UInt64] {
        let count = modulus.count
        var t = [UInt64](repeating: 0, count: count + 2)
        for i in 0..<count {
            // t += a[i] · b
            var carry: UInt64 = 0
            let ai = a[i]
            for j in 0..<count {
                let (high, low) = ai.multipliedFullWidth(by: b[j])
                let (sum, overflow1) = t[j].addingReportingOverflow(low)
                let (total, overflow2) = sum.addingReportingOverflow(carry)
                t[j] = total
                carry = high &+ (overflow1 ? 1 : 0) &+ (overflow2 ? 1 : 0)
            }
            let (top, topOverflow) = t[count].addingReportingOverflow(carry)
            t[count] = top
            t[count + 1] = topOverflow ? 1 : 0
            // t = (t + m · modulus) / 2⁶⁴, with m chosen so that the low limb becomes 0.
            let m = t[0] &* inverse
            let (high0, low0) = m.multipliedFullWidth(by: modulus[0])
            let (_, overflow0) = t[0].addingReportingOverflow(low0)
            carry = high0 &+ (overflow0 ? 1 : 0)
            for j in 1..<count {
                let (high, low) = m.multipliedFullWidth(by: modulus[j])
                let (sum, overflow1) = t[j].addingReportingOverflow(low)
                let (total, overflow2) = sum.addingReportingOverflow(carry)
                t[j - 1] = total
                carry = high &+ (overflow1 ? 1 : 0) &+ (overflow2 ? 1 : 0)
            }
            let (shifted, overflow) = t[count].addingReportingOverflow(carry)
            t[count - 1] = shifted
            t[count] = t[count + 1] &+ (overflow ? 1 : 0)
        }
        // The result is below 2·modulus: subtract once if it is not below modulus.
        var result = Array(t[0..<count])
        if t[count] != 0 || !Self.isLess(result, modulus) {
            var borrow = false
            for j in 0..<count {
                let (difference, borrow1) = result[j].subtractingReportingOverflow(modulus[j])
                let (final, borrow2) = difference.subtractingReportingOverflow(borrow ? 1 : 0)
                result[j] = final
                borrow = borrow1 || borrow2
            }
        }
        return result
    }

    private static func isLess(_ a: [UInt64], _ b: [UInt64]) -> Bool {
        for index in stride(from: a.count - 1, through: 0, by: -1) where a[index] != b[index] {
            return a[index] < b[index]
        }
        return false
    }

    private static func limbs(_ value: BigUInt, count: Int) -> [UInt64] {
        var limbs = value.words.map { UInt64($0) }
        if limbs.count < count { limbs += [UInt64](repeating: 0, count: count - limbs.count) }
        return Array(limbs.prefix(count))
    }
}
