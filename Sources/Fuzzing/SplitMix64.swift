/// A small deterministic random generator: the same seed, the same inputs (SplitMix64).
public struct SplitMix64: RandomNumberGenerator, Sendable {
    /// The generator's state; it advances with every number drawn.
    public var state: UInt64

    /// A generator starting from `seed`.
    public init(seed: UInt64) {
        self.state = seed
    }

    /// A generator seeded from the bytes of `input` (FNV-1a), so that every choice a fuzz target
    /// makes about an input (where to split it, which padding) depends on that input alone.
    public init(hashing input: some Sequence<UInt8>) {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in input {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
        }
        self.state = hash
    }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        self.state &+= 0x9E37_79B9_7F4A_7C15
        var z = self.state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A number in `0..<bound` (`0` when `bound` is 0).
    public mutating func below(_ bound: Int) -> Int {
        bound <= 0 ? 0 : Int(self.next() % UInt64(bound))
    }
}
