/// The one rule for event names, applied to every source before an event reaches the log:
/// REST publishes, devices, and the events the cloud publishes about webhooks.
///
/// A name is 1 to 64 printable ASCII characters (space to `~`), as Particle documents. Control
/// characters are refused outright: a CR or LF in a name would end the SSE `event:` line and
/// let the publisher write lines of its own (a forged `id:`, `retry:` or whole event) into
/// every subscriber's stream.
///
/// Devices may not publish the names the cloud itself emits (`spark/status`,
/// `spark/flash/status`, …), so a device cannot fake going offline or an update succeeding,
/// nor anything else in the `spark` and `particle` namespaces (case-insensitively), as
/// Particle forbids, except for the events Device OS itself publishes (`spark/device/…`,
/// `particle/device/…`). An account publishing through the API writes only to its own and its
/// products' streams, so it keeps the original's freedom there.
public enum EventName {
    /// Who publishes the event.
    public enum Source: Sendable, Hashable {
        /// `POST /v1/devices/events`, `POST /v1/products/:p/events`, webhook tests.
        case api
        /// A device over the device protocol.
        case device
        /// An event the cloud publishes about a webhook (`hook-*` and custom response topics).
        case webhookResponse
        /// The cloud itself (`spark/status`, `spark/flash/status`, …).
        case cloud
    }

    /// The most bytes a name published through the API or by a device may have.
    public static let maxLength = 64
    /// The most bytes of a name the cloud makes: `hook-response/<a 64-byte name>/<n>` and
    /// rendered response topics are longer than 64.
    public static let maxCloudLength = 255

    /// Names (exact or, ending in `/`, as a prefix) that only the cloud publishes.
    static let cloudOnly: [String] = [
        "spark/status",
        "spark/flash/",
        "spark/safe-mode-updater/",
        "particle/device/updates/pending",
    ]

    /// Prefixes a device may use within the reserved `spark` and `particle` namespaces: the
    /// system events of Device OS (`spark/device/last_reset`, `particle/device/updates/forced`, …).
    static let deviceSystemPrefixes = ["spark/device/", "particle/device/"]

    /// Why `name` may not be published by `source`, as a sentence for an error message; `nil`
    /// if it may.
    public static func problem(with name: String, from source: Source) -> String? {
        let limit = source == .api || source == .device ? maxLength : maxCloudLength
        if let problem = problem(withCharactersOf: name, limit: limit, what: "Event name") { return problem }
        guard source == .device else { return nil }
        for reserved in cloudOnly where isReserved(name, reserved) {
            return "Event name \(name) is reserved for events the cloud publishes"
        }
        let lower = name.lowercased()
        let namespaced = lower.hasPrefix("spark") || lower.hasPrefix("particle")
        if namespaced && !deviceSystemPrefixes.contains(where: { name.hasPrefix($0) }) {
            return "Event names starting with spark or particle are reserved"
        }
        return nil
    }

    /// Why `prefix` cannot be a stream or webhook filter (the characters and length of a name,
    /// without the reservations), or `nil` if it can.
    public static func problem(withPrefix prefix: String, what: String = "Event name prefix") -> String? {
        problem(withCharactersOf: prefix, limit: maxLength, what: what)
    }

    private static func problem(withCharactersOf name: String, limit: Int, what: String) -> String? {
        let bytes = name.utf8
        guard (1...limit).contains(bytes.count) else {
            return "\(what) must have 1 to \(limit) characters (got \(bytes.count))"
        }
        guard bytes.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) else {
            return "\(what) may contain only printable ASCII characters (no line breaks or control characters)"
        }
        return nil
    }

    /// Whether `name` may be published by `source`.
    public static func isValid(_ name: String, from source: Source) -> Bool {
        problem(with: name, from: source) == nil
    }

    private static func isReserved(_ name: String, _ reserved: String) -> Bool {
        if reserved.hasSuffix("/") { return name.hasPrefix(reserved) }
        // `spark/status` and its sub-topics (`spark/status/safe-mode`).
        return name == reserved || name.hasPrefix(reserved + "/")
    }
}
