import Foundation

/// Pauses a webhook whose target keeps failing, and resumes it on its own.
///
/// After `failureThreshold` failures in a row (connection errors, timeouts, 5xx, 429) the
/// webhook is paused: its deliveries wait (none is dropped, no attempt is used up). When the
/// pause ends one delivery goes as a probe; if it succeeds the webhook resumes, if it fails
/// the webhook is paused again for twice as long (up to `maxPause`). A value type: the
/// scheduler feeds it results with the current time and acts on the transitions it returns.
public struct TargetHealth: Sendable, Equatable {
    /// Thresholds and pause lengths.
    public struct Policy: Sendable, Equatable {
        /// Failures in a row that pause the webhook (default 5; 0 never pauses).
        public var failureThreshold: Int
        /// The first pause (default 30 s); each further pause doubles it.
        public var basePause: Duration
        /// The longest pause (default 10 minutes).
        public var maxPause: Duration

        /// Creates a policy.
        public init(failureThreshold: Int = 5, basePause: Duration = .seconds(30), maxPause: Duration = .seconds(600)) {
            self.failureThreshold = failureThreshold
            self.basePause = basePause
            self.maxPause = maxPause
        }
    }

    /// Where the webhook stands.
    public enum State: Sendable, Equatable {
        /// Deliveries go as the rate limit allows.
        case active
        /// Nothing goes until `until`.
        case paused(until: Date, reason: String)
        /// The pause is over; one probe delivery decides (`inFlight` while it runs).
        case probing(inFlight: Bool, reason: String)
    }

    /// A change the caller must act on (persist it, tell the owner).
    public enum Transition: Sendable, Equatable {
        /// The webhook was paused until this time.
        case paused(until: Date, reason: String)
        /// The webhook resumed.
        case resumed
    }

    /// How many deliveries may start now.
    public enum Admission: Sendable, Equatable {
        /// As many as the other limits allow.
        case unlimited
        /// One, the probe.
        case probe
        /// None until the time given (or until the probe ends, when `nil`).
        case none(until: Date?)
    }

    /// The policy in force.
    public let policy: Policy
    /// Where the webhook stands.
    public private(set) var state: State = .active
    /// Failures since the last success.
    public private(set) var consecutiveFailures = 0
    private var pauses = 0

    /// A healthy webhook under `policy`.
    public init(policy: Policy) {
        self.policy = policy
    }

    /// A webhook that was paused until `until` when the server stopped.
    public init(policy: Policy, pausedUntil until: Date, reason: String) {
        self.policy = policy
        self.state = .paused(until: until, reason: reason)
        self.consecutiveFailures = policy.failureThreshold
        self.pauses = 1
    }

    /// What may start at `now`; a pause that is over turns into probing.
    public mutating func admission(at now: Date) -> Admission {
        switch state {
        case .active: return .unlimited
        case .paused(let until, let reason):
            guard now >= until else { return .none(until: until) }
            state = .probing(inFlight: false, reason: reason)
            return .probe
        case .probing(let inFlight, _): return inFlight ? .none(until: nil) : .probe
        }
    }

    /// A delivery started (marks the probe as running).
    public mutating func started() {
        if case .probing(_, let reason) = state { state = .probing(inFlight: true, reason: reason) }
    }

    /// The target answered 2xx.
    public mutating func succeeded() -> Transition? {
        consecutiveFailures = 0
        guard state != .active else { return nil }
        state = .active
        pauses = 0
        return .resumed
    }

    /// The target answered in a way that says nothing of its health (a 4xx other than 429),
    /// or the request was never sent: it is reachable, so a probe counts as a success.
    public mutating func answered() -> Transition? {
        switch state {
        case .active:
            consecutiveFailures = 0
            return nil
        case .probing: return succeeded()
        case .paused: return nil
        }
    }

    /// The target failed (connection error, timeout, 5xx, 429) with `reason`.
    public mutating func failed(reason: String, at now: Date) -> Transition? {
        consecutiveFailures += 1
        switch state {
        case .paused: return nil
        case .active:
            guard policy.failureThreshold > 0, consecutiveFailures >= policy.failureThreshold else { return nil }
        case .probing: break
        }
        pauses += 1
        let base = seconds(policy.basePause)
        let length = min(seconds(policy.maxPause), base * Double(1 << min(pauses - 1, 30)))
        let until = now.addingTimeInterval(length)
        let why = "Paused after \(consecutiveFailures) failures in a row; last: \(reason)"
        state = .paused(until: until, reason: why)
        return .paused(until: until, reason: why)
    }
}
