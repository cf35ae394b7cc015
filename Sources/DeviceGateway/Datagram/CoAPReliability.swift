/// CoAP over an unreliable transport for one UDP device, as a value-type state machine: the
/// server's CONs are retransmitted until ACKed, and the device's CONs and NONs are recognised by
/// message ID when they come again, so that a duplicate gets the same reply and is not handled
/// twice. No sockets and no clock of its own: the caller passes the time.
///
/// Timing follows what Device OS itself does (`coap_channel.cpp`): a CON is retransmitted after
/// `initialTimeout × [1, 1.5)`, doubling, at most ``maximumRetransmissions`` times, so the last
/// copy leaves within 42 s of the first (the device remembers a CON's message ID for 45 s); it
/// is given up after ``giveUpAfter``. Device messages are remembered for ``duplicateSpan``
/// (120 s, more than the device's 90 s of retransmissions), at most ``maximumRemembered``.
struct CoAPReliability: Sendable {
    struct Outgoing: Sendable {
        var message: [UInt8]
        var retransmissions: Int
        var timeout: Duration
        var next: ContinuousClock.Instant
        var giveUp: ContinuousClock.Instant
    }

    struct Seen: Sendable {
        var reply: [UInt8]?
        var expires: ContinuousClock.Instant
    }

    /// What a device message amounts to.
    enum Arrival: Equatable, Sendable {
        /// First time: handle it.
        case new
        /// Seen before: send this reply again (if one was sent yet), do not handle it again.
        case duplicate(reply: [UInt8]?)
    }

    /// The first retransmission timeout (default 4 s, Device OS `ACK_TIMEOUT`).
    var initialTimeout: Duration = .seconds(4)
    /// Retransmissions of a CON (default 3, `MAX_RETRANSMIT`).
    var maximumRetransmissions = 3
    /// When an unacknowledged CON is given up (default 90 s).
    var giveUpAfter: Duration = .seconds(90)
    /// How long a device message ID is remembered (default 120 s).
    var duplicateSpan: Duration = .seconds(120)
    /// The most device message IDs remembered (default 256; the oldest is forgotten first).
    var maximumRemembered = 256

    private(set) var outgoing: [UInt16: Outgoing] = [:]
    private var seen: [UInt16: Seen] = [:]
    private var seenOrder: [UInt16] = []

    /// Starts tracking a CON the server sends now; `jitter` in [0, 1) picks the first timeout
    /// in `initialTimeout × [1, 1.5)`.
    mutating func sent(confirmable messageID: UInt16, message: [UInt8], at now: ContinuousClock.Instant, jitter: Double)
    {
        let timeout = self.initialTimeout * (1 + 0.5 * min(max(jitter, 0), 0.999))
        self.outgoing[messageID] = Outgoing(
            message: message,
            retransmissions: 0,
            timeout: timeout,
            next: now + timeout,
            giveUp: now + self.giveUpAfter
        )
    }

    /// The device ACKed or reset the server's CON `messageID`; `false` if none was waiting.
    mutating func acknowledged(_ messageID: UInt16) -> Bool {
        self.outgoing.removeValue(forKey: messageID) != nil
    }

    /// A CON or NON from the device with `messageID` arrived at `now`.
    mutating func arrived(_ messageID: UInt16, at now: ContinuousClock.Instant) -> Arrival {
        self.forgetExpired(at: now)
        if let entry = self.seen[messageID] { return .duplicate(reply: entry.reply) }
        if self.seenOrder.count >= self.maximumRemembered, let oldest = self.seenOrder.first {
            self.seenOrder.removeFirst()
            self.seen[oldest] = nil
        }
        self.seen[messageID] = Seen(reply: nil, expires: now + self.duplicateSpan)
        self.seenOrder.append(messageID)
        return .new
    }

    /// The server answered the device's message `messageID` with `reply` (an ACK or RST):
    /// a duplicate gets it again.
    mutating func replied(to messageID: UInt16, with reply: [UInt8]) {
        self.seen[messageID]?.reply = reply
    }

    /// What is due at `now`: messages to send again, and CONs given up.
    mutating func due(at now: ContinuousClock.Instant) -> (retransmit: [[UInt8]], gaveUp: [UInt16]) {
        var retransmit: [[UInt8]] = []
        var gaveUp: [UInt16] = []
        for (id, var entry) in self.outgoing {
            if now >= entry.giveUp || (entry.retransmissions >= self.maximumRetransmissions && now >= entry.next) {
                self.outgoing[id] = nil
                gaveUp.append(id)
            } else if now >= entry.next {
                retransmit.append(entry.message)
                entry.retransmissions += 1
                entry.timeout = entry.timeout * 2
                entry.next = now + entry.timeout
                self.outgoing[id] = entry
            }
        }
        return (retransmit, gaveUp)
    }

    /// When ``due(at:)`` must be asked next, if anything waits.
    var deadline: ContinuousClock.Instant? {
        self.outgoing.values.map { min($0.next, $0.giveUp) }.min()
    }

    /// The number of server CONs waiting for their ACK.
    var unacknowledgedCount: Int { self.outgoing.count }

    private mutating func forgetExpired(at now: ContinuousClock.Instant) {
        while let first = self.seenOrder.first, let entry = self.seen[first], entry.expires <= now {
            self.seenOrder.removeFirst()
            self.seen[first] = nil
        }
    }
}
