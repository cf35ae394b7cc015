import BigInt
import Testing

@testable import DeviceProtocol

@Suite("Montgomery exponentiation for the RSA public operations")
struct MontgomeryTests {
    @Test(arguments: [1024, 2048])
    func matchesBigIntPowerForRandomOddModuli(bits: Int) throws {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<20 {
            let modulus = BigUInt.randomInteger(withExactWidth: bits, using: &generator) | 1
            let base = BigUInt.randomInteger(lessThan: modulus, using: &generator)
            let context = try #require(Montgomery(modulus: modulus))
            for exponent: BigUInt in [
                65537, 3, 1, 2, BigUInt.randomInteger(withMaximumWidth: 64, using: &generator) + 1,
            ] {
                #expect(context.power(base, exponent) == base.power(exponent, modulus: modulus))
            }
        }
    }

    @Test func edgeValuesAndEvenModuli() throws {
        let modulus = (BigUInt(1) << 2048) - 1
        let context = try #require(Montgomery(modulus: modulus))
        #expect(context.power(0, 65537) == 0)
        #expect(context.power(1, 65537) == 1)
        #expect(context.power(modulus - 1, 65537) == (modulus - 1).power(65537, modulus: modulus))
        #expect(Montgomery(modulus: 1 << 20) == nil)
        // Exponent 0, and a base at or above the modulus (reduced first).
        #expect(context.power(12345, 0) == 1)
        #expect(context.power(modulus + 5, 65537) == BigUInt(5).power(65537, modulus: modulus))
        #expect(context.power(BigUInt(1) << 2100, 3) == (BigUInt(1) << 2100).power(3, modulus: modulus))
    }
}
