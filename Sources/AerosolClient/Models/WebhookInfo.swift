import AerosolModels

/// A webhook integration as the API describes it.
public struct WebhookInfo: Sendable, Equatable {
    /// The integration's id.
    public var id: String
    /// The event name prefix that triggers it.
    public var event: String
    /// The target URL (a template).
    public var url: String
    /// `GET`, `POST`, `PUT`, `DELETE` or `PATCH`.
    public var requestType: String
    /// Aerosol: `active`, `paused`, `probing` or `disabled`, when the server reports it.
    public var state: String?
    /// Aerosol: why it is paused, if it is.
    public var reason: String?
    /// The whole object as received.
    public var json: JSONValue

    init(_ json: JSONValue) throws {
        guard let id = json["id"]?.stringValue ?? json["id"]?.intValue.map(String.init) else {
            throw ClientError.unexpected("a webhook without an id", status: 200)
        }
        self.id = id
        self.json = json
        event = json["event"]?.stringValue ?? ""
        url = json["url"]?.stringValue ?? ""
        requestType = json["requestType"]?.stringValue ?? "POST"
        state = json["status"]?["state"]?.stringValue
        reason = json["status"]?["reason"]?.stringValue
    }
}

/// One attempt in a webhook's delivery log.
public struct WebhookAttempt: Sendable, Equatable {
    /// The event that triggered it.
    public var eventID: Int64?
    /// The event's name.
    public var event: String
    /// 1 for the first try, 2 for the first retry, …
    public var attempt: Int
    /// When it was made (ISO-8601).
    public var time: String
    /// How long it took, in milliseconds.
    public var durationMilliseconds: Int?
    /// The target's HTTP status, or `nil` when no response came.
    public var status: Int?
    /// What went wrong, if anything.
    public var error: String?
    /// `delivered`, `retrying`, `failed` or `dropped`.
    public var outcome: String
    /// When the next try is due, if one is.
    public var nextRetryAt: String?

    init(_ json: JSONValue) {
        eventID = json["event_id"]?.intValue
        event = json["event"]?.stringValue ?? ""
        attempt = Int(json["attempt"]?.intValue ?? 0)
        time = json["time"]?.stringValue ?? ""
        durationMilliseconds = json["duration_ms"]?.intValue.map(Int.init)
        status = json["status"]?.intValue.map(Int.init)
        error = json["error"]?.stringValue
        outcome = json["outcome"]?.stringValue ?? ""
        nextRetryAt = json["next_retry_at"]?.stringValue
    }
}
