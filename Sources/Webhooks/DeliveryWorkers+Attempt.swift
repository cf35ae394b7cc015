import AerosolModels
import AerosolStore
import Foundation
import Logging

extension DeliveryWorkers {
    /// Makes one attempt of `delivery` and everything that follows from it.
    func deliver(_ delivery: PendingDelivery) async {
        let clock = settings.clock
        guard let hook = registry.hook(delivery.webhookID) else {
            // Deleted meanwhile; its outbox rows went with it.
            release(delivery, retryAt: nil)
            return
        }
        let event = delivery.event
        let attempt = delivery.attempts + 1
        let startedAt = clock.now
        let start = ContinuousClock.now
        var host = hook.definition.fixedTarget?.host ?? "the target"
        let outcome: DeliverySender.Outcome
        do {
            let request = try RequestRenderer.render(
                hook.definition,
                password: hook.credentials.password,
                event: event,
                productFields: hook.isProduct
            )
            host = request.url.host
            outcome = await sender.send(
                request,
                secret: hook.credentials.secret,
                eventID: event.id,
                verifyTLS: hook.definition.rejectUnauthorized
            )
        } catch {
            let reason = (error as? WebhookError)?.message ?? "\(error)"
            outcome = .init(result: .failure(reason: reason, retryable: false), sent: false)
        }
        // Cut off at shutdown: the delivery stays in the outbox as it was.
        guard !Task.isCancelled else { return }

        let elapsed = start.duration(to: .now)
        let now = clock.now
        if outcome.sent { metrics.attempt(took: elapsed) }
        let decision = DeliveryDecision.decide(
            outcome.result,
            attempt: attempt,
            policy: settings.retryPolicy,
            jitter: Double.random(in: 0..<1)
        )
        let transition = reportHealth(hook.id, DeliveryDecision.signal(outcome.result), at: now)
        let audience = hook.audience(for: event)
        var drafts: [EventDraft] = []
        if outcome.sent { drafts.append(ResponseEvents.sent(for: event, audience: audience)) }

        var status: Int?
        if case .response(let code, _) = outcome.result { status = code }
        let problem = Self.problem(outcome.result, host: host)
        var record = DeliveryAttempt(
            webhookID: hook.id,
            deliveryID: delivery.id,
            eventID: event.id,
            eventName: event.name,
            attempt: attempt,
            attemptedAt: startedAt,
            durationMilliseconds: Int(seconds(elapsed) * 1000),
            status: status,
            error: nil,
            outcome: .delivered,
            nextAttemptAt: nil
        )
        var disposition = DeliveryStore.Disposition.finished
        let errorEvent = { (message: String) in
            ResponseEvents.error(
                message,
                definition: hook.definition,
                event: event,
                productHook: hook.isProduct,
                audience: audience
            )
        }
        switch decision {
        case .delivered:
            drafts += ResponseEvents.responses(
                body: outcome.body,
                definition: hook.definition,
                event: event,
                productHook: hook.isProduct,
                audience: audience
            )
        case .retry(let delay, _):
            let at = now.addingTimeInterval(seconds(delay))
            record.outcome = .retrying
            record.error = problem
            record.nextAttemptAt = at
            disposition = .retry(at: at, attempts: attempt)
            drafts.append(errorEvent("\(problem); will retry at \(Timestamp.format(at))"))
        case .giveUp:
            record.outcome = .failed
            record.error = problem
            let why = attempt >= settings.retryPolicy.maxAttempts ? "gave up after \(attempt) attempts" : "not retried"
            drafts.append(errorEvent("\(problem); \(why)"))
        }
        if case .paused? = transition { drafts.append(errorEvent(ResponseEvents.sleepingMessage)) }

        // The attempt is committed first, so the delivery log already shows it when the
        // owner sees its events; the events themselves are best effort, as the original's.
        var retryAt: Date?
        if case .retry(let at, _) = disposition { retryAt = at }
        metrics.attempt(record.outcome)
        if record.outcome == .delivered { metrics.delivered(after: now.timeIntervalSince(event.publishedAt)) }
        do {
            try await recorder.record(record, disposition)
            if case .finished = disposition { counts.release(hook.id) }
        } catch {
            // The outbox row is unchanged: look at it again shortly.
            retryAt = clock.now.addingTimeInterval(1)
        }
        // A response topic rendered from templates can hold anything; one that would not be a
        // valid name (a line break from the response, say) is not published.
        drafts.removeAll { draft in
            guard let refusal = EventName.problem(with: draft.name, from: .webhookResponse) else { return false }
            logger.warning(
                "webhook response event not published: its name is invalid",
                metadata: ["webhook.id": "\(hook.id)", "reason": "\(refusal)"]
            )
            return true
        }
        do {
            _ = try await log.append(drafts, source: .webhookResponse)
        } catch {
            logger.warning(
                "could not publish webhook events",
                metadata: ["webhook.id": "\(hook.id)", "error": "\(error)"]
            )
        }
        release(delivery, retryAt: retryAt)
        await persist(transition, hookID: hook.id)
        logger.debug(
            "webhook attempt",
            metadata: [
                "webhook.id": "\(hook.id)", "event.id": "\(event.id)", "webhook.attempt": "\(attempt)",
                "webhook.outcome": "\(record.outcome.rawValue)", "http.status": "\(status.map(String.init) ?? "-")",
            ]
        )
    }

    /// The error text of a failed attempt, as the original words it (`error status 404 from host`).
    static func problem(_ result: AttemptResult, host: String) -> String {
        switch result {
        case .response(let status, _): "error status \(status) from \(host)"
        case .failure(let reason, _): "error \(reason) from \(host)"
        }
    }

    private func reportHealth(_ webhookID: String, _ signal: DeliveryDecision.Signal, at now: Date)
        -> TargetHealth.Transition?
    {
        scheduler.withLock { $0.report(webhookID, signal, at: now) }
    }

    private func release(_ delivery: PendingDelivery, retryAt: Date?) {
        scheduler.withLock { $0.finished(delivery.webhookID, delivery: delivery.id, retryAt: retryAt) }
        wake.signal()
    }

    private func persist(_ transition: TargetHealth.Transition?, hookID: String) async {
        switch transition {
        case .paused(let until, let reason)?:
            logger.warning(
                "webhook paused: its target keeps failing",
                metadata: ["webhook.id": "\(hookID)", "webhook.paused_until": "\(Timestamp.format(until))"]
            )
            try? await webhooks.setPause(id: hookID, until: until, reason: reason)
        case .resumed?:
            logger.info("webhook resumed", metadata: ["webhook.id": "\(hookID)"])
            try? await webhooks.setPause(id: hookID, until: nil, reason: nil)
        case nil: break
        }
    }
}
