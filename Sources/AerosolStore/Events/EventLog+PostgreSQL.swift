import AerosolModels
import SQLKit

/// The event log's commit on PostgreSQL: one statement, `SELECT aerosol_append_events($1)`,
/// with the batch as a JSON array. The function (migration 15) takes the log's lock, numbers the
/// events after the newest id, inserts them and notifies the other nodes, in the statement's own
/// transaction; the statement returns once it committed.
///
/// Measured with `aerosol bench cluster` (two nodes, 64 connections, this 2-core machine): the
/// six round trips it replaced (BEGIN, lock, MAX(id), INSERT, pg_notify, COMMIT) took 1–25 ms a
/// commit, 6 ms on average, and every node's commits queue for the lock.
extension EventLog {
    /// The function, created by migration 15. Each statement of a PL/pgSQL function takes a new
    /// snapshot (READ COMMITTED, a volatile function), so `MAX(id)`, read after the lock was
    /// granted, sees what the node that held it committed.
    static let appendFunction = """
        CREATE OR REPLACE FUNCTION aerosol_append_events(batch jsonb) RETURNS bigint AS $$
        DECLARE
            base bigint;
        BEGIN
            PERFORM pg_advisory_xact_lock(\(DatabaseEngine.LockKey.eventLog.rawValue));
            SELECT COALESCE(MAX(id), 0) INTO base FROM events;
            INSERT INTO events (id, name, data, ttl, published_at, core_id, user_id, product_id, product_version)
            SELECT base + t.n, t.e->>'n', t.e->>'d', (t.e->>'t')::bigint, (t.e->>'p')::bigint, t.e->>'c',
                t.e->>'u', (t.e->>'i')::bigint, (t.e->>'v')::bigint
            FROM jsonb_array_elements(batch) WITH ORDINALITY AS t(e, n);
            PERFORM pg_notify('\(ClusterFeed.channel)', (base + jsonb_array_length(batch))::text);
            RETURN base + 1;
        END
        $$ LANGUAGE plpgsql
        """

    /// Numbers and inserts the batch's events in one statement; returns them, per append.
    func writeInOneStatement(_ batch: [Pending]) async throws -> [[Event]] {
        var json = JSONWriter()
        json.beginArray()
        for pending in batch {
            for draft in pending.drafts {
                json.beginObject()
                json.key("n")
                json.string(draft.name)
                json.key("d")
                json.stringOrNull(draft.data)
                json.key("t")
                json.integer(draft.ttl)
                json.key("p")
                json.integer(Timestamp.milliseconds(draft.publishedAt))
                json.key("c")
                json.string(draft.coreID)
                json.key("u")
                json.stringOrNull(draft.userID)
                json.key("i")
                if let product = draft.productID { json.integer(product) } else { json.null() }
                json.key("v")
                if let version = draft.productVersion { json.integer(version) } else { json.null() }
                json.endObject()
            }
        }
        json.endArray()
        let text = json.output
        // Unbounded, as the SQLite writer's transaction is (``EventLog``).
        let first = try await database.write(bounded: false) { sql in
            try await sql.raw("SELECT aerosol_append_events(CAST(\(bind: text) AS jsonb)) AS first").first()?
                .decode(column: "first", as: Int64.self)
        }
        guard let first else { throw StoreError.unavailable("the event log did not number the events") }
        return Self.numbered(batch, from: first)
    }
}
