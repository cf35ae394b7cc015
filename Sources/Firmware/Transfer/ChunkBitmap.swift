/// One bit per chunk: which chunks the device has acknowledged. Its size is the chunk count, so a
/// transfer's state stays bounded by its file (a 1.5 MB file in 512-byte chunks: 375 bytes).
struct ChunkBitmap: Hashable, Sendable {
    private var words: [UInt64]
    /// The number of chunks covered (indices `0..<count`).
    let count: Int
    /// How many bits are set.
    private(set) var setCount = 0

    init(count: Int) {
        self.count = count
        self.words = [UInt64](repeating: 0, count: (count + 63) / 64)
    }

    subscript(index: Int) -> Bool {
        guard index >= 0, index < self.count else { return false }
        return self.words[index >> 6] & (1 << UInt64(index & 63)) != 0
    }

    /// Sets bit `index`; returns whether it was clear.
    @discardableResult
    mutating func insert(_ index: Int) -> Bool {
        guard index >= 0, index < self.count, !self[index] else { return false }
        self.words[index >> 6] |= 1 << UInt64(index & 63)
        self.setCount += 1
        return true
    }
}
