/// The 64-record anti-replay window of RFC 6347 §4.1.2.6, as mbedTLS keeps it
/// (`in_window_top`, `in_window`; `mbedtls_ssl_dtls_replay_check` / `_update`).
///
/// Bit *i* of ``bitmap`` stands for sequence number `top - i`. A fresh window (0, 0) accepts
/// every number, including 0. Anything newer than ``top`` is accepted however far it jumps
/// (devices skip numbers after sleeping or losing packets); a number already seen, or more than
/// 63 below ``top``, is rejected. Check with ``accepts(_:)`` before authenticating a record and
/// call ``record(_:)`` only after it authenticated, so forged records cannot move the window.
///
/// Persist it as the two integers: Device OS ≥ 3.1 persists its own incoming window the same way
/// (`SessionPersist::update`).
public struct ReplayWindow: Hashable, Sendable {
    /// The highest sequence number recorded (0 when nothing was).
    public private(set) var top: UInt64
    /// Which of `top`, `top - 1`, … `top - 63` were recorded (bit 0 = `top`).
    public private(set) var bitmap: UInt64

    /// An empty window.
    public init() {
        self.top = 0
        self.bitmap = 0
    }

    /// A window restored from its persisted form.
    public init(top: UInt64, bitmap: UInt64) {
        self.top = top
        self.bitmap = bitmap
    }

    /// Whether a record with this sequence number may be processed.
    public func accepts(_ sequenceNumber: UInt64) -> Bool {
        if sequenceNumber > self.top { return true }
        let offset = self.top - sequenceNumber
        guard offset < 64 else { return false }
        return self.bitmap & (1 << offset) == 0
    }

    /// Marks an authenticated record's sequence number as received. Returns `true` when it is
    /// the newest so far (it moved ``top``), which is when a peer's address may be updated.
    @discardableResult
    public mutating func record(_ sequenceNumber: UInt64) -> Bool {
        if sequenceNumber > self.top || (self.top == 0 && self.bitmap == 0) {
            let shift = sequenceNumber - self.top
            self.bitmap = shift >= 64 ? 1 : (self.bitmap << shift) | 1
            self.top = sequenceNumber
            return true
        }
        let offset = self.top - sequenceNumber
        if offset < 64 {
            self.bitmap |= 1 << offset
        }
        return false
    }
}
