import AerosolModels
import AerosolStore

/// Node leases (several nodes on one PostgreSQL database): each node renews its row in the
/// database every quarter of ``GatewaySettings/nodeLease``; a node that misses its lease (it was
/// killed, its machine died, it lost the database) is taken as dead by the first other node to
/// notice, which reports its devices offline. Without it, a dead node's devices stayed
/// recorded online until they reconnected somewhere or the node started again.
extension DeviceGateway {
    /// Renews this node's lease and looks for dead nodes until cancelled.
    func keepLease(_ nodes: NodeStore, node: String) async {
        let lease = context.settings.nodeLease
        var failure = RepeatedFailure()
        while !Task.isCancelled {
            do {
                if try await !nodes.renew(node) { try await reclaimDevices(node: node) }
                for dead in try await nodes.expire(after: lease, except: node) {
                    try await reportOffline(deadNode: dead)
                }
                failure.succeeded("node lease renewed again", logger: context.logger, metadata: ["node.id": "\(node)"])
            } catch {
                if Task.isCancelled { return }
                failure.failed(
                    error,
                    "cannot renew this node's lease; retrying",
                    logger: context.logger,
                    metadata: ["node.id": "\(node)"]
                )
            }
            try? await Task.sleep(for: lease / 4)
        }
    }

    /// Records online again the devices connected here that another node reported offline
    /// while this one could not renew its lease (it had lost the database, not died).
    private func reclaimDevices(node: String) async throws {
        let ids = context.registry.onlineDeviceIDs
        guard !ids.isEmpty else { return }
        let reclaimed = try await context.devices.reclaim(ids, node: node)
        for device in reclaimed {
            try await context.statusLock.withLock(device.id) {
                guard context.registry.link(device.id) != nil else { return }
                try await context.announce("spark/status", data: "online", device: device)
            }
        }
        if !reclaimed.isEmpty {
            context.logger.notice(
                "this node's lease had run out; its devices are recorded online again",
                metadata: ["node.id": "\(node)", "devices.count": "\(reclaimed.count)"]
            )
        }
    }

    /// Marks offline and reports the devices of a node that missed its lease, except those
    /// already back here.
    private func reportOffline(deadNode: String) async throws {
        let devices = try await context.devices.markOffline(node: deadNode)
        await context.reportOffline(devices, cause: "after its node's lease ran out")
        context.logger.warning(
            "a node missed its lease: taken as dead, its devices reported offline",
            metadata: [
                "node.dead": "\(deadNode)", "devices.count": "\(devices.count)",
                "lease": "\(context.settings.nodeLease.components.seconds) s",
            ]
        )
    }
}
