/// The payload of a device's Goodbye (POST `/x`), sent before a deliberate disconnect: LEB128
/// varints, a flags byte saying which reasons follow, then those present in order (Device OS
/// `Messages::goodbye`).
public struct Goodbye: Hashable, Sendable, CustomStringConvertible {
    /// Why the cloud connection ends (1 error, 2 user, 3 network disconnect, 4 listening,
    /// 5 system reset, 6 sleep, 7 unknown, 8 server moved).
    public var cloudReason: UInt64?
    /// The reset reason when the device is about to reset (Device OS `System.resetReason()`).
    public var resetReason: UInt64?
    /// How long the device means to sleep, in seconds.
    public var sleepSeconds: UInt64?
    /// Why the network connection ends (1 error, 2 user, 3 network off, 4 listening, 5 sleep,
    /// 6 reset, 7 unknown).
    public var networkReason: UInt64?

    /// Creates a Goodbye.
    public init(
        cloudReason: UInt64? = nil,
        resetReason: UInt64? = nil,
        sleepSeconds: UInt64? = nil,
        networkReason: UInt64? = nil
    ) {
        self.cloudReason = cloudReason
        self.resetReason = resetReason
        self.sleepSeconds = sleepSeconds
        self.networkReason = networkReason
    }

    /// Parses a Goodbye payload; an empty payload is a Goodbye without reasons.
    ///
    /// - Throws: ``DeviceProtocolError/unexpectedInput`` for a truncated or over-long varint.
    public init(payload: some Collection<UInt8>) throws(DeviceProtocolError) {
        self.init()
        var bytes = Array(payload)[...]
        guard !bytes.isEmpty else { return }
        let flags = try Self.varint(&bytes)
        if flags & 0x01 != 0 { self.cloudReason = try Self.varint(&bytes) }
        if flags & 0x02 != 0 { self.resetReason = try Self.varint(&bytes) }
        if flags & 0x04 != 0 { self.sleepSeconds = try Self.varint(&bytes) }
        if flags & 0x08 != 0 { self.networkReason = try Self.varint(&bytes) }
    }

    /// The payload bytes.
    public var payload: [UInt8] {
        var flags: UInt64 = 0
        var tail: [UInt8] = []
        for (bit, value) in [(1, cloudReason), (2, resetReason), (4, sleepSeconds), (8, networkReason)] {
            guard let value else { continue }
            flags |= UInt64(bit)
            tail += Self.encode(value)
        }
        return Self.encode(flags) + tail
    }

    /// The cloud reason's name, for logs.
    public var cloudReasonName: String {
        switch cloudReason {
        case nil: "none"
        case 1: "error"
        case 2: "user"
        case 3: "network disconnect"
        case 4: "listening"
        case 5: "system reset"
        case 6: "sleep"
        case 7: "unknown"
        case 8: "server moved"
        case let other?: "\(other)"
        }
    }

    /// The reasons, for logs.
    public var description: String {
        var parts = ["cloud: \(cloudReasonName)"]
        if let resetReason { parts.append("reset: \(resetReason)") }
        if let sleepSeconds { parts.append("sleep: \(sleepSeconds) s") }
        if let networkReason { parts.append("network: \(networkReason)") }
        return parts.joined(separator: ", ")
    }

    private static func varint(_ bytes: inout ArraySlice<UInt8>) throws(DeviceProtocolError) -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while let byte = bytes.popFirst() {
            guard shift < 63 else { throw .unexpectedInput }
            value |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return value }
            shift += 7
        }
        throw .unexpectedInput
    }

    private static func encode(_ value: UInt64) -> [UInt8] {
        var value = value
        var bytes: [UInt8] = []
        repeat {
            var byte = UInt8(value & 0x7F)
            value >>= 7
            if value != 0 { byte |= 0x80 }
            bytes.append(byte)
        } while value != 0
        return bytes
    }
}
