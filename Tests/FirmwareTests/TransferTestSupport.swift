import CoAP
import Firmware

/// Hands out message IDs from a start value (a class, so a closure can advance it while the
/// machine it is passed to is being mutated).
final class IDCounter {
    var value: UInt16

    init(after value: UInt16) {
        self.value = value
    }

    func next() -> UInt16 {
        self.value &+= 1
        return self.value
    }
}

/// A fixed origin for virtual time.
let origin = ContinuousClock.now

/// `origin` plus `milliseconds`.
func at(_ milliseconds: Int) -> ContinuousClock.Instant {
    origin + .milliseconds(milliseconds)
}

extension Array where Element == TransferAction {
    /// The messages sent, encoded.
    var sent: [[UInt8]] {
        self.compactMap {
            guard case .send(let message) = $0 else { return nil }
            return try? message.encoded()
        }
    }

    var finished: TransferOutcome? {
        for action in self {
            if case .finished(let outcome) = action { return outcome }
        }
        return nil
    }

    var deadline: ContinuousClock.Instant?? {
        for action in self.reversed() {
            if case .deadline(let instant) = action { return .some(instant) }
        }
        return nil
    }

    var flushes: Bool { self.contains(.flush) }
}

extension Array where Element == UpdateReceiver.Action {
    var sent: [[UInt8]] {
        self.compactMap {
            guard case .send(let message) = $0 else { return nil }
            return try? message.encoded()
        }
    }
}

/// Decodes hex into a message (test helper).
func message(_ text: String) -> CoAPMessage {
    try! CoAPMessage(decoding: hex(text))
}

/// Big-endian bytes of a CRC.
func be32(_ value: UInt32) -> [UInt8] {
    [UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
}
