import Foundation
import Fuzzing

/// `aerosol-fuzz`: runs the fuzz targets of the `Fuzzing` module outside the test suite.
///
///     aerosol-fuzz list
///     aerosol-fuzz replay TARGET PATH...              every file (or every file in a folder)
///     aerosol-fuzz mutate TARGET [SECONDS] [SEED]     random mutations of the corpus
///     aerosol-fuzz libfuzzer TARGET [libFuzzer arguments and corpus folders]
///
/// `libfuzzer` exists in builds made with `-Xswiftc -sanitize=fuzzer -Xswiftc -DFUZZING`
/// (README, Development). A violated property prints the input's file (mutate writes it as
/// `crash-TARGET-HASH`) and exits with status 1; libFuzzer saves it as `crash-…` itself.
@main
struct FuzzCommand {
    static func main() {
        var arguments = Array(CommandLine.arguments.dropFirst())
        // libFuzzer runs itself again for -merge, -fork and -jobs with only its own arguments:
        // the target then comes from the environment (set by the first run).
        if let name = ProcessInfo.processInfo.environment[Self.targetVariable], let target = FuzzTarget(rawValue: name),
            !["list", "replay", "mutate", "libfuzzer"].contains(arguments.first ?? "")
        {
            Self.libFuzzer(target, arguments: arguments)
        }
        guard let command = arguments.first else { Self.usage() }
        arguments.removeFirst()
        if command == "list" {
            for target in FuzzTarget.allCases { print(target.rawValue) }
            return
        }
        guard let name = arguments.first, let target = FuzzTarget(rawValue: name) else { Self.usage() }
        arguments.removeFirst()
        switch command {
        case "replay": Self.replay(target, paths: arguments)
        case "mutate":
            Self.mutate(
                target,
                seconds: arguments.first.flatMap(Double.init) ?? 60,
                seed: arguments.dropFirst().first.flatMap { UInt64($0) } ?? UInt64(Date().timeIntervalSince1970)
            )
        case "libfuzzer": Self.libFuzzer(target, arguments: arguments)
        default: Self.usage()
        }
    }

    /// The environment variable that names the target of a libFuzzer run.
    static let targetVariable = "AEROSOL_FUZZ_TARGET"

    static func usage() -> Never {
        let names = FuzzTarget.allCases.map(\.rawValue).joined(separator: "|")
        FileHandle.standardError.write(
            Data(
                """
                usage: aerosol-fuzz list
                       aerosol-fuzz replay TARGET PATH...
                       aerosol-fuzz mutate TARGET [SECONDS] [SEED]
                       aerosol-fuzz libfuzzer TARGET [LIBFUZZER-ARGUMENTS] [CORPUS-FOLDER...]
                TARGET: \(names)

                """.utf8
            )
        )
        exit(2)
    }

    static func replay(_ target: FuzzTarget, paths: [String]) {
        var counts: [Verdict: Int] = [:]
        var failed = false
        for path in paths {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                print("no such file: \(path)")
                exit(2)
            }
            let url = URL(fileURLWithPath: path)
            let files: [(name: String, bytes: [UInt8])]
            do {
                files =
                    isDirectory.boolValue
                    ? try Corpus.files(in: url) : [(url.lastPathComponent, [UInt8](try Data(contentsOf: url)))]
            } catch {
                print("cannot read \(path): \(error)")
                exit(2)
            }
            for (name, bytes) in files {
                do {
                    counts[try target.check(bytes), default: 0] += 1
                } catch {
                    print("VIOLATION in \(name): \(error)")
                    failed = true
                }
            }
        }
        print(
            "\(target.rawValue): \(counts[.accepted, default: 0]) accepted, \(counts[.rejected, default: 0]) rejected"
        )
        if failed { exit(1) }
    }

    static func mutate(_ target: FuzzTarget, seconds: Double, seed: UInt64) {
        let corpus = (try? Corpus.entries(of: target).map(\.bytes)) ?? []
        let seeds = corpus.isEmpty ? [[]] : corpus
        var generator = SplitMix64(seed: seed)
        let deadline = Date().addingTimeInterval(seconds)
        var runs = 0
        var counts: [Verdict: Int] = [:]
        while Date() < deadline {
            for _ in 0..<100 {
                var input = seeds[generator.below(seeds.count)]
                Mutator.mutate(&input, using: &generator)
                runs += 1
                do {
                    counts[try target.check(input), default: 0] += 1
                } catch {
                    let file = "crash-\(target.rawValue)-\(String(SplitMix64(hashing: input).state, radix: 16))"
                    _ = FileManager.default.createFile(atPath: file, contents: Data(input))
                    print("VIOLATION after \(runs) runs (seed \(seed)), input written to \(file): \(error)")
                    exit(1)
                }
            }
        }
        print(
            "\(target.rawValue): \(runs) runs in \(Int(seconds)) s (seed \(seed)), "
                + "\(counts[.accepted, default: 0]) accepted, \(counts[.rejected, default: 0]) rejected"
        )
    }
}
