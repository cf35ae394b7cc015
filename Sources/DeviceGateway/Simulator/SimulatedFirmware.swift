import CoAP
import Firmware
import Synchronization

/// The firmware side of a simulated device, kept across its connections as a real device keeps
/// it across restarts: it accepts updates by the legacy protocol or OTA v3 through Firmware's
/// ``UpdateReceiver`` (which checks CRC-32 and SHA-256 at the end), and once one is applied the
/// device describes the new user module on its next connection.
///
/// The same instance serves a TCP device (``DeviceSimulator/firmware``) or a UDP one
/// (``DatagramSimulator/firmware``): only the receiver's transport differs (over UDP the
/// device's separate answers are CON). Give it to every connection of the device; watch
/// ``updates`` to learn when the device "reboots" (``Update/restart(_:)``): end the connection
/// then and connect again, as the device would.
public final class SimulatedFirmware: Sendable {
    /// What happened to an update.
    public enum Update: Hashable, Sendable {
        /// The device took the file; it passed its checks.
        case applied(ValidatedFirmware)
        /// The device refused or abandoned the update.
        case rejected(String)
        /// The device restarts (reconnect to finish the update).
        case restart(String)
        /// The device dropped the connection (a protocol error or a misbehaviour).
        case disconnect(String)
    }

    private struct State {
        var receiver: UpdateReceiver
        var installed: InstalledModule?
        var productVersion: UInt16?
        var timer: Task<Void, Never>?
        var device: SimulatedDevice?
        var restarts = 0
    }

    /// Updates as they happen (the newest 100 are kept for a reader that falls behind).
    public let updates: AsyncStream<Update>
    private let continuation: AsyncStream<Update>.Continuation
    private let state: Mutex<State>

    /// Firmware that accepts updates by `otaProtocol` for `platformID`, misbehaving as
    /// `misbehaviour` says; `installed` is the user module it runs at first, if any. `transport`
    /// is the one the device connects by.
    public init(
        otaProtocol: OTAProtocol,
        platformID: UInt16,
        transport: Transport = .tcp,
        maximumBinarySize: Int = 10_485_760,
        misbehaviour: ReceiverMisbehaviour = ReceiverMisbehaviour(),
        installed: InstalledModule? = nil
    ) {
        var configuration = UpdateReceiver.Configuration(
            otaProtocol: otaProtocol,
            transport: transport,
            platformID: platformID
        )
        configuration.maximumBinarySize = maximumBinarySize
        configuration.misbehaviour = misbehaviour
        self.state = Mutex(State(receiver: UpdateReceiver(configuration: configuration), installed: installed))
        (self.updates, self.continuation) = AsyncStream.makeStream(
            of: Update.self,
            bufferingPolicy: .bufferingNewest(100)
        )
    }

    /// The product version of the last applied update (the device's Hello reports it), if any.
    public var productVersion: UInt16? { state.withLock { $0.productVersion } }

    /// How often the device has restarted (a UDP device loses its in-memory DTLS session then,
    /// as the Device OS virtual device does: its next connection is a full handshake).
    public var restarts: Int { state.withLock { $0.restarts } }

    /// The user module the device runs, as its system Describe reports it.
    public var installedModule: InstalledModule? { state.withLock { $0.installed } }

    /// The Describe JSON entry of the installed user module, if any.
    var describeEntry: String? {
        guard let module = installedModule else { return nil }
        let digits = Array("0123456789ABCDEF")
        let hash = String((module.hash ?? []).flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 0x0F)]] })
        return "{\"s\":262144,\"l\":\"m\",\"vc\":30,\"vv\":30,\"f\":\"\(module.function.describeLetter ?? "u")\","
            + "\"n\":\"\(module.index)\",\"v\":\(module.version),\"u\":\"\(hash)\",\"d\":[]}"
    }

    /// Whether `message` from the server belongs to an update.
    func handles(_ message: CoAPMessage) -> Bool {
        state.withLock { $0.receiver.handles(message) }
    }

    /// The device connected: messages of updates go through `device`.
    func attach(_ device: SimulatedDevice) {
        state.withLock { $0.device = device }
    }

    /// The connection ended: what the device keeps across connections stays.
    func detach() {
        state.withLock { state in
            state.timer?.cancel()
            state.timer = nil
            state.device = nil
            state.receiver.connectionLost()
        }
    }

    /// Handles a message of an update.
    func receive(_ message: CoAPMessage) {
        let (actions, device) = state.withLock { state in
            let device = state.device
            let actions = state.receiver.receive(message, at: .now) { device?.nextMessageID() ?? 0 }
            return (actions, device)
        }
        carryOut(actions, device: device)
    }

    private func timerFired() {
        let (actions, device) = state.withLock { state in
            let device = state.device
            let actions = state.receiver.timerFired(at: .now) { device?.nextMessageID() ?? 0 }
            return (actions, device)
        }
        carryOut(actions, device: device)
    }

    private func carryOut(_ actions: [UpdateReceiver.Action], device: SimulatedDevice?) {
        for action in actions {
            switch action {
            case .send(let message):
                device?.send(message)
            case .deadline(let instant):
                state.withLock { state in
                    state.timer?.cancel()
                    state.timer = nil
                    guard let instant else { return }
                    state.timer = Task { [weak self] in
                        guard (try? await Task.sleep(until: instant, clock: .continuous)) != nil else { return }
                        self?.timerFired()
                    }
                }
            case .disconnect(let reason):
                continuation.yield(.disconnect(reason))
                device?.disconnect()
            case .applied(let firmware):
                let module = firmware.primaryModule
                state.withLock {
                    $0.installed = InstalledModule(
                        function: module.function,
                        index: module.index,
                        version: module.version,
                        hash: module.suffix.sha256
                    )
                    $0.productVersion = firmware.productVersion ?? $0.productVersion
                }
                continuation.yield(.applied(firmware))
            case .rejected(let reason):
                continuation.yield(.rejected(reason))
            case .restart(let reason):
                state.withLock { $0.restarts += 1 }
                continuation.yield(.restart(reason))
            }
        }
    }
}
