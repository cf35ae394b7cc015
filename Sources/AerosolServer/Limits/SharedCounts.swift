import AerosolStore

/// Counts each node keeps that the nodes of one database share (``RateLimitSync``): the request
/// limits per client address and the sign-in lockout.
protocol SharedCounts: Sendable {
    /// This node's counts changed since the last call, to write for the other nodes.
    func drain() -> [RateCountStore.Count]
    /// Takes in other nodes' counts read at `databaseNow` (their ends are on the database's
    /// clock), and forgets those that ended.
    func absorb(_ counts: [RateCountStore.Count], databaseNow: Int64)
}
