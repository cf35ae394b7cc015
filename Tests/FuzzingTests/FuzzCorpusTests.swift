import Foundation
import Fuzzing
import Testing

/// The committed corpus (`Tests/Corpus/<target>/`) replayed through every fuzz target: real
/// messages from the specs and tests, edge cases, and every input a fuzzer ever found. Each must
/// keep its target's properties.
@Suite struct FuzzCorpusTests {
    @Test(arguments: FuzzTarget.allCases)
    func theCorpusKeepsTheProperties(_ target: FuzzTarget) throws {
        let entries = try Corpus.entries(of: target)
        #expect(entries.count >= 5, "\(target.rawValue) has only \(entries.count) seeds")
        var accepted = 0
        for (name, bytes) in entries {
            do {
                if try target.check(bytes) == .accepted { accepted += 1 }
            } catch {
                Issue.record("\(name): \(error)")
            }
        }
        #expect(accepted > 0, "no seed of \(target.rawValue) is accepted")
    }

    @Test func everyCorpusFolderBelongsToATarget() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: Corpus.defaultRoot.path)
        for name in names where !name.hasPrefix(".") && !name.hasSuffix(".md") {
            #expect(FuzzTarget(rawValue: name) != nil, "Tests/Corpus/\(name) has no fuzz target")
        }
    }
}
