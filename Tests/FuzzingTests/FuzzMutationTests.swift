import Foundation
import Fuzzing
import Testing

/// Seeded random mutations of the corpus through every fuzz target: the short run of CI (a few
/// seconds a target). `AEROSOL_FUZZ_SCALE=N` runs N times as many; `AEROSOL_FUZZ_SEED` picks
/// another seed. A violating input is written to the temporary folder, to be added to the
/// corpus once fixed.
@Suite struct FuzzMutationTests {
    static let scale = ProcessInfo.processInfo.environment["AEROSOL_FUZZ_SCALE"].flatMap(Double.init) ?? 1
    static let seed = ProcessInfo.processInfo.environment["AEROSOL_FUZZ_SEED"].flatMap { UInt64($0) } ?? 0xF022

    @Test(arguments: FuzzTarget.allCases)
    func mutatedInputsKeepTheProperties(_ target: FuzzTarget) throws {
        let seeds = try Corpus.entries(of: target).map(\.bytes)
        var generator = SplitMix64(seed: Self.seed ^ SplitMix64(hashing: target.rawValue.utf8).state)
        var counts: [Verdict: Int] = [:]
        var violations = 0
        for _ in 0..<Int(Double(target.defaultMutations) * Self.scale) {
            var input = seeds[generator.below(seeds.count)]
            Mutator.mutate(&input, using: &generator, limit: target == .handshake ? 245 : 70_000)
            do {
                counts[try target.check(input), default: 0] += 1
            } catch {
                violations += 1
                guard violations <= 3 else { continue }
                let file = FileManager.default.temporaryDirectory
                    .appendingPathComponent(
                        "crash-\(target.rawValue)-\(String(SplitMix64(hashing: input).state, radix: 16))"
                    )
                try Data(input).write(to: file)
                Issue.record("\(error) (input in \(file.path))")
            }
        }
        // Both outcomes must come up, or the mutations do not reach the parser's depths. (A
        // mutated handshake plaintext almost never keeps its size and nonce: the corpus test
        // covers the accepted ones.)
        #expect(counts[.accepted, default: 0] > 0 || target == .handshake, "\(target.rawValue): \(counts)")
        #expect(counts[.rejected, default: 0] > 0, "\(target.rawValue): \(counts)")
    }
}
