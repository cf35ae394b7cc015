import Foundation
import Testing

@testable import Webhooks

@Suite("Retries, backoff and pauses")
struct RetryTests {
    private let policy = RetryPolicy(maxAttempts: 5, baseDelay: .seconds(30), maxDelay: .seconds(300))

    @Test func backoffDoublesWithJitterAndIsCapped() {
        #expect(policy.delay(afterAttempt: 1, jitter: 0) == .seconds(15))
        #expect(policy.delay(afterAttempt: 1, jitter: 0.999_999) == .milliseconds(30_000))
        #expect(policy.delay(afterAttempt: 2, jitter: 0) == .seconds(30))
        #expect(policy.delay(afterAttempt: 3, jitter: 0.5) == .seconds(90))
        #expect(policy.delay(afterAttempt: 10, jitter: 0) == .seconds(150))
        #expect(policy.delay(afterAttempt: 10, jitter: 1) == .seconds(300))
        #expect(policy.delay(afterAttempt: 1, jitter: 0, retryAfter: .seconds(120)) == .seconds(120))
        #expect(policy.delay(afterAttempt: 1, jitter: 0, retryAfter: .seconds(9999)) == .seconds(300))
    }

    @Test func whatIsRetriedAndWhatIsNot() {
        func decide(_ result: AttemptResult, attempt: Int = 1) -> DeliveryDecision {
            DeliveryDecision.decide(result, attempt: attempt, policy: policy, jitter: 0)
        }
        #expect(decide(.response(status: 200, retryAfter: nil)) == .delivered)
        #expect(decide(.response(status: 204, retryAfter: nil)) == .delivered)
        #expect(decide(.response(status: 500, retryAfter: nil)) == .retry(after: .seconds(15), reason: "status 500"))
        #expect(
            decide(.response(status: 503, retryAfter: nil), attempt: 2)
                == .retry(after: .seconds(30), reason: "status 503")
        )
        #expect(
            decide(.response(status: 429, retryAfter: .seconds(60)))
                == .retry(after: .seconds(60), reason: "status 429")
        )
        #expect(decide(.response(status: 404, retryAfter: nil)) == .giveUp(reason: "status 404"))
        #expect(decide(.response(status: 302, retryAfter: nil)) == .giveUp(reason: "status 302"))
        #expect(
            decide(.failure(reason: "connection refused", retryable: true))
                == .retry(after: .seconds(15), reason: "connection refused")
        )
        #expect(decide(.failure(reason: "refused address", retryable: false)) == .giveUp(reason: "refused address"))
        #expect(decide(.response(status: 500, retryAfter: nil), attempt: 5) == .giveUp(reason: "status 500"))
    }

    @Test func healthSignals() {
        #expect(DeliveryDecision.signal(.response(status: 200, retryAfter: nil)) == .success)
        #expect(DeliveryDecision.signal(.response(status: 502, retryAfter: nil)) == .failure("status 502"))
        #expect(DeliveryDecision.signal(.response(status: 429, retryAfter: nil)) == .failure("status 429"))
        #expect(DeliveryDecision.signal(.response(status: 400, retryAfter: nil)) == .neutral)
        #expect(DeliveryDecision.signal(.failure(reason: "timed out", retryable: true)) == .failure("timed out"))
    }

    @Test func aFailingTargetIsPausedProbedAndResumed() {
        let t0 = Fixtures.start
        var health = TargetHealth(policy: .init(failureThreshold: 3, basePause: .seconds(30), maxPause: .seconds(100)))
        #expect(health.admission(at: t0) == .unlimited)
        #expect(health.failed(reason: "status 500", at: t0) == nil)
        #expect(health.failed(reason: "status 500", at: t0) == nil)
        let reason = "Paused after 3 failures in a row; last: status 500"
        #expect(
            health.failed(reason: "status 500", at: t0) == .paused(until: t0.addingTimeInterval(30), reason: reason)
        )
        #expect(health.admission(at: t0.addingTimeInterval(29)) == .none(until: t0.addingTimeInterval(30)))
        // Stragglers failing while paused change nothing.
        #expect(health.failed(reason: "status 500", at: t0.addingTimeInterval(1)) == nil)

        // The pause ends: one probe.
        #expect(health.admission(at: t0.addingTimeInterval(30)) == .probe)
        health.started()
        #expect(health.admission(at: t0.addingTimeInterval(31)) == .none(until: nil))
        // The probe fails: paused twice as long.
        let again = health.failed(reason: "timed out", at: t0.addingTimeInterval(32))
        #expect(
            again
                == .paused(
                    until: t0.addingTimeInterval(92),
                    reason: "Paused after 5 failures in a row; last: timed out"
                )
        )
        // Then the cap.
        _ = health.admission(at: t0.addingTimeInterval(92))
        health.started()
        #expect(
            health.failed(reason: "x", at: t0.addingTimeInterval(93))
                == .paused(until: t0.addingTimeInterval(193), reason: "Paused after 6 failures in a row; last: x")
        )
        // A successful probe resumes.
        #expect(health.admission(at: t0.addingTimeInterval(193)) == .probe)
        health.started()
        #expect(health.succeeded() == .resumed)
        #expect(health.state == .active)
        #expect(health.consecutiveFailures == 0)
        #expect(health.admission(at: t0.addingTimeInterval(194)) == .unlimited)
    }

    @Test func aZeroThresholdNeverPauses() {
        var health = TargetHealth(policy: .init(failureThreshold: 0))
        for _ in 0..<100 { #expect(health.failed(reason: "x", at: Fixtures.start) == nil) }
        #expect(health.state == .active)
    }

    @Test func aStoredPauseIsRestored() {
        let until = Fixtures.start.addingTimeInterval(10)
        var health = TargetHealth(policy: .init(), pausedUntil: until, reason: "why")
        #expect(health.admission(at: Fixtures.start) == .none(until: until))
        #expect(health.admission(at: until) == .probe)
    }
}
