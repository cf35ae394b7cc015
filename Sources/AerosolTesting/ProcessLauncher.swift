import Foundation

/// Starts the tests' child processes one at a time.
///
/// swift-corelibs-foundation's `Process.run()` crashed in CI (signal 11 in a `memcpy` inside
/// `run()`, 2026-12-07) while the parallel test suites launched processes from several threads
/// at once. Only the launch is serialised: the processes themselves still run side by side.
public enum ProcessLauncher {
    private static let lock = NSLock()

    /// `process.run()`, never concurrently with another launch through here.
    public static func run(_ process: Process) throws {
        lock.lock()
        defer { lock.unlock() }
        try process.run()
    }
}
