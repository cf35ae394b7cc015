import Foundation
import Fuzzing

#if FUZZING
    /// libFuzzer's driver (in the runtime that `-sanitize=fuzzer` links).
    @_silgen_name("LLVMFuzzerRunDriver")
    func runLibFuzzer(
        _ argc: UnsafeMutablePointer<CInt>,
        _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
        _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
    ) -> CInt

    /// The entry point the fuzzer runtime links against (its own `main` gives way to ours, which
    /// picks the target first): one input through the selected target.
    @_cdecl("LLVMFuzzerTestOneInput")
    func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
        let input = size == 0 ? [] : [UInt8](UnsafeBufferPointer(start: data, count: size))
        do {
            _ = try selectedTarget.check(input)
        } catch {
            // A trap is what libFuzzer records as a crash, with the input.
            fatalError("property violated: \(error)")
        }
        return 0
    }
#endif

/// The target libFuzzer runs. Unsafe is safe here: it is written once, before the driver
/// starts, and libFuzzer calls back on the thread that wrote it.
nonisolated(unsafe) private var selectedTarget = FuzzTarget.json

extension FuzzCommand {
    static func libFuzzer(_ target: FuzzTarget, arguments: [String]) {
        #if FUZZING
            selectedTarget = target
            setenv(Self.targetVariable, target.rawValue, 1)
            // libFuzzer parses argv itself: the program name, then its flags and corpus folders.
            var argv: [UnsafeMutablePointer<CChar>?] =
                ([CommandLine.arguments[0]] + arguments).map { strdup($0) } + [nil]
            var argc = CInt(arguments.count + 1)
            let status = argv.withUnsafeMutableBufferPointer { buffer in
                var base = buffer.baseAddress
                return runLibFuzzer(&argc, &base, fuzzOneInput)
            }
            exit(status)
        #else
            let message =
                "this aerosol-fuzz was built without libFuzzer: build it with -sanitize=fuzzer -DFUZZING (README)\n"
            FileHandle.standardError.write(Data(message.utf8))
            exit(2)
        #endif
    }
}
