import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A child process started with `posix_spawn`, with the part of `Foundation.Process`'s interface
/// the tests use.
///
/// Not `Foundation.Process`: its `run()` crashed CI runs (SIGSEGV in a `memcpy`) through
/// swift-corelibs-foundation's over-read of `d_name` in `findMaximumOpenFromProcSelfFD()`, which
/// reads 256 bytes of every `/proc/self/fd` entry and faults when an entry ends a page (fixed in
/// Foundation after Swift 6.3.1). Here the child closes every descriptor above 2 with glibc's
/// `posix_spawn_file_actions_addclosefrom_np`, and nothing reads `/proc`.
///
/// One thread per child waits for it (`waitpid`) and records how it ended.
public final class ChildProcess: @unchecked Sendable {
    /// The program to run.
    public var executableURL: URL?
    /// Its arguments (without the program's name).
    public var arguments: [String] = []
    /// Its environment; `nil`: this process's.
    public var environment: [String: String]?
    /// A `Pipe` or a `FileHandle` for the child's standard input, output and error; `nil`: this
    /// process's.
    public var standardInput: Any?
    public var standardOutput: Any?
    public var standardError: Any?
    /// Called on the waiting thread once the child has ended.
    public var terminationHandler: (@Sendable (ChildProcess) -> Void)?

    private let condition = NSCondition()
    private var pid: pid_t = 0
    private var ended: Int32?

    public init() {}

    /// The child's process ID (0 before ``run()``).
    public var processIdentifier: Int32 {
        condition.lock()
        defer { condition.unlock() }
        return pid
    }

    /// Whether the child was started and has not ended.
    public var isRunning: Bool {
        condition.lock()
        defer { condition.unlock() }
        return pid != 0 && ended == nil
    }

    /// Its exit code, or the number of the signal that ended it; 0 before it ended.
    public var terminationStatus: Int32 {
        condition.lock()
        defer { condition.unlock() }
        return ended ?? 0
    }

    /// Starts the child.
    public func run() throws {
        guard let executableURL else { throw TestFailure("ChildProcess: no executable") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        var parentCloses: [FileHandle] = []
        for (target, stream, reading) in [
            (Int32(0), standardInput, true), (Int32(1), standardOutput, false), (Int32(2), standardError, false),
        ] {
            guard let stream else { continue }
            let handle: FileHandle
            if let pipe = stream as? Pipe {
                handle = reading ? pipe.fileHandleForReading : pipe.fileHandleForWriting
                parentCloses.append(handle)
            } else if let file = stream as? FileHandle {
                handle = file
            } else {
                throw TestFailure("ChildProcess: a standard stream must be a Pipe or a FileHandle")
            }
            posix_spawn_file_actions_adddup2(&actions, handle.fileDescriptor, target)
        }
        guard Self.closeFrom(&actions, 3) == 0 else { throw TestFailure("ChildProcess: closefrom action refused") }

        let path = executableURL.path
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        let variables = (environment ?? ProcessInfo.processInfo.environment).map { "\($0.key)=\($0.value)" }
        let envp = variables.map { strdup($0) } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var child: pid_t = 0
        let result = posix_spawn(&child, path, &actions, nil, argv, envp)
        guard result == 0 else { throw TestFailure("cannot start \(path): \(String(cString: strerror(result)))") }
        let started = child
        // The child holds its ends of the pipes now; the parent's copies would keep them open.
        for handle in parentCloses { try? handle.close() }
        condition.lock()
        pid = started
        condition.unlock()
        Thread.detachNewThread { [self] in waitForExit(started) }
    }

    /// Blocks until the child has ended.
    public func waitUntilExit() {
        condition.lock()
        defer { condition.unlock() }
        while pid != 0 && ended == nil { condition.wait() }
    }

    /// Sends SIGTERM.
    public func terminate() { signal(SIGTERM) }

    /// Sends `signal` to the child, if it runs.
    public func signal(_ signal: Int32) {
        condition.lock()
        defer { condition.unlock() }
        if pid != 0 && ended == nil { kill(pid, signal) }
    }

    /// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34 and later), which Swift's Glibc
    /// module does not declare.
    private static let closeFrom: @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32 = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np")
        else { fatalError("glibc 2.34 or later is needed (posix_spawn_file_actions_addclosefrom_np)") }
        return unsafeBitCast(
            symbol,
            to: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32).self
        )
    }()

    private func waitForExit(_ child: pid_t) {
        var status: Int32 = 0
        while waitpid(child, &status, 0) == -1 && errno == EINTR {}
        // WIFEXITED / WEXITSTATUS / WTERMSIG, which Swift does not import as macros.
        let signal = status & 0x7f
        let code = signal == 0 ? (status >> 8) & 0xff : signal
        condition.lock()
        ended = code
        condition.broadcast()
        let handler = terminationHandler
        condition.unlock()
        handler?(self)
    }
}
