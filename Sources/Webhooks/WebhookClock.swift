import Foundation

/// The time that webhook scheduling runs on: rate-limit windows, retry delays and pauses.
/// A seam so that tests can run a minute of rate limiting in a second.
public protocol WebhookClock: Sendable {
    /// The current time.
    var now: Date { get }
    /// How long to wait, in real time, until the clock shows `date`.
    func realDuration(until date: Date) -> Duration
}

/// The system's wall clock (the production clock).
public struct SystemWebhookClock: WebhookClock {
    /// The system clock.
    public init() {}

    public var now: Date { Date() }

    public func realDuration(until date: Date) -> Duration {
        .milliseconds(Int64(max(0, date.timeIntervalSinceNow) * 1000))
    }
}

/// A clock that runs `speed` times faster than real time from when it is made (for tests:
/// with speed 60 a one-minute rate window passes in one second).
public struct ScaledWebhookClock: WebhookClock {
    /// How many clock seconds pass per real second.
    public let speed: Double
    private let origin: Date
    private let start: ContinuousClock.Instant

    /// A clock starting at the current time and running `speed` times faster.
    public init(speed: Double) {
        self.speed = max(speed, 0.001)
        self.origin = Date()
        self.start = .now
    }

    public var now: Date {
        origin.addingTimeInterval(seconds(start.duration(to: .now)) * speed)
    }

    public func realDuration(until date: Date) -> Duration {
        .milliseconds(Int64(max(0, date.timeIntervalSince(now)) / speed * 1000))
    }
}
