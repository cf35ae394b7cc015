import Foundation

/// Starts the tests' child processes one at a time.
///
/// A CI run (2026-12-07) crashed inside `Process.run()` (SIGSEGV in a `memcpy`): that is
/// swift-corelibs-foundation's over-read of `d_name` in `findMaximumOpenFromProcSelfFD()`, which
/// reads 256 bytes of every `/proc/self/fd` entry and faults when an entry ends a page (fixed in
/// Foundation after Swift 6.3.1). Serialising launches keeps them from racing one another but does
/// not remove that bug; a launcher that does not use `Foundation.Process` would. Only the launch is
/// serialised: the processes themselves still run side by side.
public enum ProcessLauncher {
    private static let lock = NSLock()

    /// `process.run()`, never concurrently with another launch through here.
    public static func run(_ process: Process) throws {
        lock.lock()
        defer { lock.unlock() }
        try process.run()
    }
}
