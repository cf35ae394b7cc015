import AerosolModels

/// Webhooks created through another node (several nodes on one database) reach the delivering
/// node within about a second (``WebhookSync``), by which time its dispatcher may have matched
/// events published after the creation without them. Those events are matched again against
/// the new webhook alone, and its deliveries queued; the stored cursor does not move (it is
/// past them already).
extension WebhookDispatcher {
    /// Matches the events of `gap` against its webhook and queues their deliveries.
    func backfill(_ gap: WebhookRegistry.Gap) async throws {
        var after = gap.after
        var queued = 0
        while after < gap.through, let hook = registry.hook(gap.webhookID) {
            let events = try await deliveries.events(after: after, limit: batchSize)
            guard let last = events.last?.id else { break }
            let matches = events.filter { $0.id <= gap.through && hook.matches($0) }.map { (event: $0, hooks: [hook]) }
            if try await enqueue(matches, cursor: nil) { queued += matches.count }
            after = last
        }
        logger.info(
            "matched the events published before this node loaded a new webhook",
            metadata: [
                "webhook.id": "\(gap.webhookID)", "webhook.events": "\(gap.after + 1)...\(gap.through)",
                "webhook.queued": "\(queued)",
            ]
        )
    }
}
