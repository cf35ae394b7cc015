import AerosolStore
import Foundation
import Logging
import Synchronization

/// Device requests between nodes on one PostgreSQL database. A node asked to read a variable,
/// call a function, signal or ping a device whose connection another node holds sends the
/// request to that node's notification channel (`aerosol_node_<id>`); that node performs it
/// through its own connection and answers on the asking node's channel. The database is the
/// only link between nodes: no port of their own, no broker.
///
/// A request waits for its answer as long as a local one would (the request timeout) and a
/// second more; a node that does not answer (it died, or lost the database) gives a timeout.
final class NodeRelay: Sendable {
    /// This node's id (``GatewaySettings/nodeID``).
    let nodeID: String
    private let database: Database
    private let devices: DeviceStore
    private let logger: Logger
    /// The requests sent from here, by id: their caller, and the task that sends the request
    /// and then times it out (cancelled when the answer comes, so that a busy node does not
    /// keep a sleeping task per request for the whole timeout).
    private let waiting = Mutex<
        [String: (continuation: CheckedContinuation<RelayedAnswer, any Error>, timer: Task<Void, Never>?)]
    >([:])

    init(nodeID: String, database: Database, devices: DeviceStore, logger: Logger) {
        self.nodeID = nodeID
        self.database = database
        self.devices = devices
        self.logger = logger
    }

    static func channel(of node: String) -> String { "aerosol_node_\(node)" }

    /// Sends `request` to the node holding `request.device`'s connection and returns its answer;
    /// `nil` when no other node holds it.
    func forward(_ request: RelayedRequest, timeout: Duration) async throws -> RelayedAnswer? {
        guard let node = try await devices.node(of: request.device), node != nodeID else { return nil }
        var request = request
        request.id = UUID().uuidString
        request.from = nodeID
        let payload = RelayMessage.request(request).json
        let id = request.id
        return try await withCheckedThrowingContinuation { continuation in
            waiting.withLock { $0[id] = (continuation, nil) }
            let timer = Task {
                do {
                    try await database.notify(Self.channel(of: node), payload: payload)
                } catch {
                    finish(id, with: .failure(error))
                    return
                }
                try? await Task.sleep(for: timeout + .seconds(1))
                guard !Task.isCancelled else { return }
                finish(id, with: .failure(GatewayError.timedOut("the device's node did not answer in time")))
            }
            let answered = waiting.withLock { waiting -> Bool in
                guard waiting[id] != nil else { return true }
                waiting[id]?.timer = timer
                return false
            }
            if answered { timer.cancel() }
        }
    }

    /// Listens on this node's channel until cancelled: performs the requests of other nodes
    /// with `perform` and hands answers to the requests waiting here.
    func run(perform: @escaping @Sendable (RelayedRequest) async -> RelayedAnswer) async {
        var failure = RepeatedFailure()
        while !Task.isCancelled {
            do {
                try await database.listen(on: Self.channel(of: nodeID)) { payload in
                    guard let payload else { return }
                    self.received(payload, perform: perform)
                }
                failure.succeeded(nil, logger: logger)
            } catch {
                if Task.isCancelled { return }
                failure.failed(
                    error,
                    "cannot listen for other nodes' device requests; retrying every second",
                    logger: logger
                )
            }
            try? await Task.sleep(for: .seconds(1))
        }
    }

    private func received(_ payload: String, perform: @escaping @Sendable (RelayedRequest) async -> RelayedAnswer) {
        let request: RelayedRequest
        switch try? JSONDecoder().decode(RelayMessage.self, from: Data(payload.utf8)) {
        case .answer(let answer)?:
            finish(answer.id, with: .success(answer))
            return
        case .request(let received)?:
            request = received
        case nil:
            logger.warning(
                "dropping a malformed message from another node",
                metadata: ["size": "\(payload.utf8.count)"]
            )
            return
        }
        Task {
            let answer = await perform(request)
            do {
                try await database.notify(Self.channel(of: request.from), payload: RelayMessage.answer(answer).json)
            } catch {
                logger.warning(
                    "could not answer another node's device request",
                    metadata: ["device.id": "\(request.device)", "error": "\(Database.describe(error))"]
                )
            }
        }
    }

    private func finish(_ id: String, with result: Result<RelayedAnswer, any Error>) {
        guard let entry = waiting.withLock({ $0.removeValue(forKey: id) }) else { return }
        entry.timer?.cancel()
        entry.continuation.resume(with: result)
    }
}
