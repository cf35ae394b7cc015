import DTLS
import Testing

@Suite struct ReplayWindowTests {
    @Test func freshWindowAcceptsZeroOnce() {
        var window = ReplayWindow()
        #expect(window.accepts(0))
        let newest0 = window.record(0)
        #expect(newest0)
        #expect(!window.accepts(0))
        #expect(window.accepts(1))
    }

    @Test func acceptsNewerRejectsDuplicatesAndTooOld() {
        var window = ReplayWindow()
        window.record(100)
        #expect(window.accepts(101))
        #expect(window.accepts(1_000_000))  // any jump forward
        #expect(!window.accepts(100))
        #expect(window.accepts(99))
        #expect(window.accepts(37))  // 100 - 63: the oldest still in the window
        #expect(!window.accepts(36))  // 64 behind: too old
        let newest60 = window.record(60)
        #expect(!newest60)  // late but inside: recorded, not newest
        #expect(!window.accepts(60))
        let newest200 = window.record(200)
        #expect(newest200)
        #expect(!window.accepts(100))  // fell out of the window
        #expect(window.accepts(199))
        #expect(window.top == 200)
        #expect(window.bitmap == 1)
    }

    @Test func shiftsTheBitmap() {
        var window = ReplayWindow()
        for sequence: UInt64 in [1, 2, 3, 5] { window.record(sequence) }
        #expect(window.top == 5)
        #expect(window.bitmap == 0b11101)
        #expect(window.accepts(4))
        window.record(4)
        #expect(window.bitmap == 0b11111)
        let restored = ReplayWindow(top: window.top, bitmap: window.bitmap)
        #expect(restored == window)
        #expect(!restored.accepts(3))
    }

    @Test func seededRandomOrderMatchesAModel() {
        var generator = SplitMix64(seed: 0x5EED)
        var window = ReplayWindow()
        var seen = Set<UInt64>()
        var highest: UInt64 = 0
        for _ in 0..<20_000 {
            let sequence = highest + 8 >= generator.next() % 80 ? generator.next() % (highest + 8) : highest + 1
            let expected = !seen.contains(sequence) && (sequence + 64 > highest || seen.isEmpty)
            #expect(window.accepts(sequence) == expected)
            if expected {
                window.record(sequence)
                seen.insert(sequence)
                highest = max(highest, sequence)
            }
        }
    }
}
