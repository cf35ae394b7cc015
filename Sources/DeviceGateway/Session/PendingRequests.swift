/// The requests a session has sent to its device and not yet seen answered, by their one-byte
/// token (Device OS keeps one-byte tokens, so at most 255 can be in flight at once).
struct PendingRequests: Sendable {
    struct Entry: Sendable {
        var request: DeviceRequest
        /// The message ID of the latest CON sent for it (a Block2 continuation sends another).
        var messageID: UInt16
        /// Whether the device has ACKed the CON (the result then follows separately).
        var acknowledged = false
        /// A Describe's payload received so far, block by block.
        var received: [UInt8] = []
        /// Whether the session asked for it itself (a Describe after Hello), rather than a caller.
        var isInternal = false
    }

    /// The most requests in flight at once.
    static let capacity = 255

    private(set) var entries: [UInt8: Entry] = [:]
    private var lastToken: UInt8 = 0

    /// The number of requests in flight.
    var count: Int { entries.count }

    /// Records a request under a free token and returns the token, or `nil` if every token is
    /// in use.
    mutating func insert(_ entry: Entry) -> UInt8? {
        guard entries.count < Self.capacity else { return nil }
        repeat {
            lastToken &+= 1
        } while lastToken == 0 || entries[lastToken] != nil
        entries[lastToken] = entry
        return lastToken
    }

    /// The token of the request whose latest CON has `messageID`.
    func token(forMessageID messageID: UInt16) -> UInt8? {
        entries.first { $0.value.messageID == messageID }?.key
    }

    subscript(token: UInt8) -> Entry? {
        get { entries[token] }
        set { entries[token] = newValue }
    }

    /// Forgets the request and returns it.
    @discardableResult
    mutating func remove(_ token: UInt8) -> Entry? {
        entries.removeValue(forKey: token)
    }

    /// Forgets every request and returns their tokens.
    mutating func removeAll() -> [UInt8] {
        defer { entries = [:] }
        return Array(entries.keys)
    }
}
