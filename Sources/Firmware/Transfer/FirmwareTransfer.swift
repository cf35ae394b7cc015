import CoAP

/// One firmware transfer to one device, by whichever protocol the device speaks, over whichever
/// transport: a value-type state machine that takes inputs (device messages, timer, flush,
/// cancel, connection changes) and returns the ``TransferAction``s the gateway carries out in
/// order. It has no clock and no socket: the gateway passes the time in and holds the one timer.
///
/// The gateway drives it like this:
///
/// 1. Validate the file (``ValidatedFirmware/init(validating:for:purpose:digest:)``), reserve a
///    one-byte token in the device session, create the transfer and call
///    ``start(on:at:messageIDs:)``; publish ``FlashStatus/started``.
/// 2. Offer every message from the device to ``claims(_:)`` first; pass those it claims to
///    ``receive(_:at:messageIDs:)`` (it ACKs the device CONs it claims), the rest to the session.
/// 3. On ``TransferAction/deadline(_:)`` (re)arm the timer and call
///    ``timerFired(at:messageIDs:)`` when it fires; on ``TransferAction/flush`` call
///    ``flushed(at:messageIDs:)`` once the connection has taken the messages.
/// 4. Keep the transfer across connections: call ``disconnected(at:)`` when the device's
///    connection ends and ``connected(_:at:messageIDs:)`` with the new one (a legacy transfer
///    starts over, a v3 transfer resumes), then ``described(_:at:messageIDs:)`` with the modules
///    of the device's system Describe.
/// 5. On ``TransferAction/finished(_:)`` publish ``TransferOutcome/flashStatus`` and release the
///    token. ``cancel(at:messageIDs:)`` ends it early.
///
/// `messageIDs` hands out the session's next message ID: the transfer's messages must not reuse
/// an ID the device saw from the session in the last 45 s (it would drop them as duplicates).
///
/// Memory: the transfer reads the file through its ``FirmwareImage`` one burst of chunks at a
/// time; its own state is a few hundred bytes plus one bit (legacy: one byte) per chunk.
public struct FirmwareTransfer: Sendable {
    private enum Machine: Sendable {
        case legacy(LegacyTransfer)
        case v3(V3Transfer)
        /// Held only while a machine is mutated, so that its arrays are not copied.
        case moving
    }

    private var machine: Machine

    /// Creates a transfer of `image` (already validated for `device`) by the protocol `device`
    /// speaks. `fileSHA256` is the SHA-256 of the whole image (``ValidatedFirmware/fileSHA256``).
    public init(
        image: any FirmwareImage,
        fileSHA256: [UInt8],
        device: DeviceProfile,
        configuration: TransferConfiguration = TransferConfiguration()
    ) {
        self.init(image: image, fileSHA256: fileSHA256, expected: nil, device: device, configuration: configuration)
    }

    /// Creates a transfer of `image`, which `firmware` describes, to `device`. Knowing the
    /// modules lets a legacy transfer whose last answer was lost recognise them in the device's
    /// next Describe (``described(_:at:messageIDs:)``) instead of sending the file again.
    public init(
        image: any FirmwareImage,
        firmware: ValidatedFirmware,
        device: DeviceProfile,
        configuration: TransferConfiguration = TransferConfiguration()
    ) {
        self.init(
            image: image,
            fileSHA256: firmware.fileSHA256,
            expected: firmware,
            device: device,
            configuration: configuration
        )
    }

    private init(
        image: any FirmwareImage,
        fileSHA256: [UInt8],
        expected: ValidatedFirmware?,
        device: DeviceProfile,
        configuration: TransferConfiguration
    ) {
        switch OTAProtocol(for: device) {
        case .legacy:
            self.machine = .legacy(
                LegacyTransfer(image: image, expected: expected, device: device, configuration: configuration)
            )
        case .v3:
            self.machine = .v3(
                V3Transfer(image: image, fileSHA256: fileSHA256, device: device, configuration: configuration)
            )
        }
    }

    /// The protocol in use.
    public var otaProtocol: OTAProtocol {
        switch self.machine {
        case .legacy: .legacy
        case .v3, .moving: .v3
        }
    }

    /// The chunk size in use.
    public var chunkSize: Int {
        switch self.machine {
        case .legacy(let machine): machine.chunkSize
        case .v3(let machine): machine.chunkSize
        case .moving: 0
        }
    }

    /// Legacy: whether UpdateBegin asks for fast OTA.
    public var requestsFastOTA: Bool {
        if case .legacy(let machine) = self.machine { return machine.requestsFastOTA }
        return false
    }

    /// How the transfer ended, or `nil` while it runs.
    public var outcome: TransferOutcome? {
        switch self.machine {
        case .legacy(let machine): machine.outcome
        case .v3(let machine): machine.outcome
        case .moving: nil
        }
    }

    /// How far it has got.
    public var progress: TransferProgress {
        switch self.machine {
        case .legacy(let machine): machine.progress
        case .v3(let machine): machine.progress
        case .moving: TransferProgress(bytesDone: 0, totalBytes: 0, chunksDone: 0, chunkCount: 0, attempt: 0)
        }
    }

    /// Elements held in the transfer's variable-size state (lists of chunks to send again,
    /// recent message IDs); tests check it stays bounded.
    var footprint: Int {
        switch self.machine {
        case .legacy(let machine): machine.missed.count + machine.retries.count + machine.recentCONs.count
        case .v3(let machine):
            machine.resend.count + machine.holesResent.count + machine.recentCONs.count + machine.recentChunks.count
                + machine.acknowledged.count / 8
        case .moving: 0
        }
    }

    /// Whether `message` from the device belongs to this transfer: an ACK or RST of one of its
    /// requests, an answer carrying its token, ChunkMissed (legacy) or UpdateAck (v3), or a
    /// retransmission of a device CON it has ACKed.
    public func claims(_ message: CoAPMessage) -> Bool {
        switch self.machine {
        case .legacy(let machine): machine.claims(message)
        case .v3(let machine): machine.claims(message)
        case .moving: false
        }
    }

    /// Starts the transfer on the device's current connection. Only the first call does anything.
    public mutating func start(
        on connection: TransferConnection,
        at now: ContinuousClock.Instant,
        messageIDs: () -> UInt16
    ) -> [TransferAction] {
        self.mutate {
            $0.start(on: connection, at: now, messageIDs: messageIDs)
        } v3: {
            $0.start(on: connection, at: now, messageIDs: messageIDs)
        }
    }

    /// Handles a message from the device that ``claims(_:)`` accepted (others are ignored).
    public mutating func receive(
        _ message: CoAPMessage,
        at now: ContinuousClock.Instant,
        messageIDs: () -> UInt16
    ) -> [TransferAction] {
        self.mutate {
            $0.receive(message, at: now, messageIDs: messageIDs)
        } v3: {
            $0.receive(message, at: now, messageIDs: messageIDs)
        }
    }

    /// The deadline last asked for has come (or passed: a late timer is fine). The gateway's
    /// timer is spent; the actions returned ask for the next deadline, if there is one.
    public mutating func timerFired(at now: ContinuousClock.Instant, messageIDs: () -> UInt16) -> [TransferAction] {
        self.mutate {
            $0.timerFired(at: now, messageIDs: messageIDs)
        } v3: {
            $0.timerFired(at: now, messageIDs: messageIDs)
        }
    }

    /// The connection has taken the messages handed out before a ``TransferAction/flush``.
    public mutating func flushed(at now: ContinuousClock.Instant, messageIDs: () -> UInt16) -> [TransferAction] {
        self.mutate {
            $0.flushed(at: now, messageIDs: messageIDs)
        } v3: {
            $0.flushed(at: now, messageIDs: messageIDs)
        }
    }

    /// Stops the transfer. A v3 device is told (Cancel-Update with Discard-Data) and the outcome
    /// follows its answer; the legacy protocol has no such message, the device gives up by itself
    /// 300 s after its last chunk.
    public mutating func cancel(at now: ContinuousClock.Instant, messageIDs: () -> UInt16) -> [TransferAction] {
        self.mutate {
            $0.cancel(at: now)
        } v3: {
            $0.cancel(at: now, messageIDs: messageIDs)
        }
    }

    /// The device's connection has ended; the transfer waits for it to come back (for
    /// ``TransferConfiguration/reconnectTimeout``).
    public mutating func disconnected(at now: ContinuousClock.Instant) -> [TransferAction] {
        self.mutate {
            $0.disconnected(at: now)
        } v3: {
            $0.disconnected(at: now)
        }
    }

    /// The device is connected again (after ``disconnected(at:)``, or a connection replaced
    /// without one): legacy starts over from zero, v3 resumes from what the device kept.
    public mutating func connected(
        _ connection: TransferConnection,
        at now: ContinuousClock.Instant,
        messageIDs: () -> UInt16
    ) -> [TransferAction] {
        self.mutate {
            $0.connected(connection, at: now, messageIDs: messageIDs)
        } v3: {
            $0.connected(connection, at: now, messageIDs: messageIDs)
        }
    }

    /// The device described its modules (its system Describe, on every connection). A legacy
    /// transfer whose connection ended while UpdateDone's answer was awaited uses it to tell
    /// whether the device took the file (success) or not (it starts over); otherwise ignored.
    public mutating func described(
        _ modules: [InstalledModule],
        at now: ContinuousClock.Instant,
        messageIDs: () -> UInt16
    ) -> [TransferAction] {
        self.mutate {
            $0.described(modules, at: now, messageIDs: messageIDs)
        } v3: { _ in
            []
        }
    }

    private mutating func mutate(
        legacy: (inout LegacyTransfer) -> [TransferAction],
        v3: (inout V3Transfer) -> [TransferAction]
    ) -> [TransferAction] {
        switch self.machine {
        case .legacy(var machine):
            self.machine = .moving
            defer { self.machine = .legacy(machine) }
            return legacy(&machine)
        case .v3(var machine):
            self.machine = .moving
            defer { self.machine = .v3(machine) }
            return v3(&machine)
        case .moving:
            return []
        }
    }
}
