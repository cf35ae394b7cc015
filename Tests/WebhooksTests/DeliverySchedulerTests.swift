import Foundation
import Testing

@testable import Webhooks

@Suite("Delivery scheduling")
struct DeliverySchedulerTests {
    private let t0 = Fixtures.start

    private func scheduler(rate: Int = 12, global: Int = 64, perHook: Int = 16) -> DeliveryScheduler {
        var scheduler = DeliveryScheduler(maxInFlight: global, maxInFlightPerHook: perHook)
        scheduler.configure(
            "h",
            rateLimit: rate,
            enabled: true,
            health: TargetHealth(policy: .init(failureThreshold: 2))
        )
        return scheduler
    }

    @Test func theRateLimitCapsWhatIsFetchedAndSaysWhenToLookAgain() {
        var scheduler = scheduler(rate: 12)
        scheduler.arrived("h", dueAt: t0)
        let first = scheduler.plan(at: t0)
        #expect(first.fetches == [.init(webhookID: "h", limit: 12)])
        scheduler.fetched("h", started: Array(1...12), nextDue: t0, at: t0)
        for id in Int64(1)...12 { scheduler.finished("h", delivery: id, retryAt: nil) }
        // 12 started this minute: nothing more until the first leaves the window.
        let second = scheduler.plan(at: t0.addingTimeInterval(1))
        #expect(second.fetches.isEmpty)
        #expect(second.wakeAt == t0.addingTimeInterval(60))
        #expect(scheduler.plan(at: t0.addingTimeInterval(60)).fetches == [.init(webhookID: "h", limit: 12)])
    }

    @Test func concurrencyIsBoundedPerHookAndInAll() {
        var scheduler = scheduler(rate: 0, global: 20, perHook: 16)
        scheduler.configure("g", rateLimit: 0, enabled: true, health: TargetHealth(policy: .init()))
        scheduler.arrived("h", dueAt: t0)
        scheduler.arrived("g", dueAt: t0)
        let plan = scheduler.plan(at: t0)
        #expect(plan.fetches.reduce(0) { $0 + $1.limit } == 20)
        #expect(plan.fetches.allSatisfy { $0.limit <= 16 })
        for fetch in plan.fetches {
            let ids = (0..<fetch.limit).map { Int64($0) + (fetch.webhookID == "h" ? 0 : 100) }
            scheduler.fetched(fetch.webhookID, started: ids, nextDue: t0, at: t0)
        }
        #expect(scheduler.inFlightTotal == 20)
        #expect(scheduler.plan(at: t0).fetches.isEmpty)
        scheduler.finished("h", delivery: 0, retryAt: nil)
        #expect(scheduler.plan(at: t0).fetches.reduce(0) { $0 + $1.limit } == 1)
    }

    @Test func futureWorkWaitsAndRetriesComeBack() {
        var scheduler = scheduler()
        scheduler.arrived("h", dueAt: t0.addingTimeInterval(30))
        let plan = scheduler.plan(at: t0)
        #expect(plan.fetches.isEmpty)
        #expect(plan.wakeAt == t0.addingTimeInterval(30))
        #expect(scheduler.plan(at: t0.addingTimeInterval(30)).fetches.count == 1)
        scheduler.fetched("h", started: [1], nextDue: nil, at: t0.addingTimeInterval(30))
        #expect(scheduler.plan(at: t0.addingTimeInterval(31)) == ([], nil))
        scheduler.finished("h", delivery: 1, retryAt: t0.addingTimeInterval(45))
        #expect(scheduler.plan(at: t0.addingTimeInterval(31)).wakeAt == t0.addingTimeInterval(45))
    }

    @Test func workArrivingDuringAFetchIsNotLost() {
        var scheduler = scheduler(rate: 0)
        scheduler.arrived("h", dueAt: t0)
        _ = scheduler.plan(at: t0)
        scheduler.arrived("h", dueAt: t0)
        // The fetch saw nothing more, but new work came meanwhile.
        scheduler.fetched("h", started: [1], nextDue: nil, at: t0)
        #expect(scheduler.plan(at: t0).fetches.count == 1)
    }

    @Test func aPausedHookSendsNothingThenOneProbe() {
        var scheduler = scheduler(rate: 0)
        scheduler.arrived("h", dueAt: t0)
        _ = scheduler.plan(at: t0)
        scheduler.fetched("h", started: [1, 2], nextDue: t0, at: t0)
        #expect(scheduler.report("h", .failure("status 500"), at: t0) == nil)
        let transition = scheduler.report("h", .failure("status 500"), at: t0)
        #expect(
            transition
                == .paused(
                    until: t0.addingTimeInterval(30),
                    reason: "Paused after 2 failures in a row; last: status 500"
                )
        )
        scheduler.finished("h", delivery: 1, retryAt: t0.addingTimeInterval(1))
        scheduler.finished("h", delivery: 2, retryAt: t0.addingTimeInterval(1))
        let paused = scheduler.plan(at: t0.addingTimeInterval(5))
        #expect(paused.fetches.isEmpty)
        #expect(paused.wakeAt == t0.addingTimeInterval(30))
        #expect(scheduler.plan(at: t0.addingTimeInterval(30)).fetches == [.init(webhookID: "h", limit: 1)])
        scheduler.fetched("h", started: [1], nextDue: t0, at: t0.addingTimeInterval(30))
        #expect(scheduler.plan(at: t0.addingTimeInterval(30)).fetches.isEmpty)
        #expect(scheduler.report("h", .success, at: t0.addingTimeInterval(31)) == .resumed)
        scheduler.finished("h", delivery: 1, retryAt: nil)
        #expect(scheduler.plan(at: t0.addingTimeInterval(31)).fetches == [.init(webhookID: "h", limit: 16)])
    }

    @Test func disabledHooksSendNothing() {
        var scheduler = scheduler()
        scheduler.configure("h", rateLimit: 12, enabled: false, health: TargetHealth(policy: .init()))
        scheduler.arrived("h", dueAt: t0)
        #expect(scheduler.plan(at: t0).fetches.isEmpty)
    }

    @Test func replacingAWebhookLiftsItsPauseAndKeepsItsQueue() {
        var scheduler = scheduler(rate: 0)
        scheduler.arrived("h", dueAt: t0)
        _ = scheduler.plan(at: t0)
        scheduler.fetched("h", started: [1], nextDue: t0, at: t0)
        _ = scheduler.report("h", .failure("status 500"), at: t0)
        _ = scheduler.report("h", .failure("status 500"), at: t0)
        scheduler.finished("h", delivery: 1, retryAt: t0)
        #expect(scheduler.plan(at: t0).fetches.isEmpty)
        scheduler.reset("h", health: TargetHealth(policy: .init()))
        #expect(scheduler.plan(at: t0).fetches == [.init(webhookID: "h", limit: 16)])
    }
}
