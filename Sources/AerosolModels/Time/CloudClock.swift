import Foundation

/// The time the server runs on: token and session expiry, login lockouts, stream keepalives.
/// A seam so that tests set the time instead of sleeping (``ManualClock``); production uses
/// ``SystemClock``.
public protocol CloudClock: Sendable {
    /// The wall-clock time now.
    var now: Date { get }
    /// Monotonic time in nanoseconds, for measuring silences and timeouts (never jumps back).
    var uptimeNanoseconds: UInt64 { get }
    /// Suspends for `duration` of this clock's time; throws `CancellationError` if cancelled.
    func sleep(for duration: Duration) async throws
}

/// The system's clocks: `Date()` and the monotonic clock.
public struct SystemClock: CloudClock {
    /// The system clock.
    public init() {}

    public var now: Date { Date() }

    public var uptimeNanoseconds: UInt64 { DispatchTime.now().uptimeNanoseconds }

    public func sleep(for duration: Duration) async throws {
        try await Task.sleep(for: duration)
    }
}

extension Duration {
    /// The duration in whole nanoseconds (negative durations count as zero).
    public var nanoseconds: UInt64 {
        let (seconds, attoseconds) = components
        guard seconds >= 0, attoseconds >= 0 || seconds > 0 else { return 0 }
        return UInt64(seconds) * 1_000_000_000 &+ UInt64(max(0, attoseconds / 1_000_000_000))
    }

    /// The duration in seconds, as a `TimeInterval`.
    public var timeInterval: TimeInterval {
        let (seconds, attoseconds) = components
        return TimeInterval(seconds) + TimeInterval(attoseconds) / 1e18
    }
}
