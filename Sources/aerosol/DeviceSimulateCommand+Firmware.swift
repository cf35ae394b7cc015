import DeviceGateway
import DeviceProtocol
import Firmware

/// The simulated device's firmware, the same over TCP and UDP: made from the `--ota-*` options,
/// and followed so that an update's restart becomes a reconnect.
extension DeviceSimulateCommand {
    /// The device's firmware, from the --ota-* options; v3 sets the Hello flag.
    func makeFirmware(hello: inout Hello, transport: Transport) -> SimulatedFirmware {
        var misbehaviour = ReceiverMisbehaviour()
        misbehaviour.dropAlways = Set(otaDrop)
        misbehaviour.disconnectAfterChunks = otaDisconnectAfter
        misbehaviour.refuse = otaRefuse
        let otaProtocol: OTAProtocol = self.otaProtocol == "v3" ? .v3 : .legacy
        if otaProtocol == .v3 { hello.flags.insert(.otaProtocolV3) }
        return SimulatedFirmware(
            otaProtocol: otaProtocol,
            platformID: hello.platformID ?? 3,
            transport: transport,
            maximumBinarySize: Int(hello.maximumBinarySize ?? 10_485_760),
            misbehaviour: misbehaviour
        )
    }

    /// Prints what happens to updates; throws ``SimulatedRestart`` (and sets `restart`) when the
    /// device restarts or drops its connection.
    static func follow(_ firmware: SimulatedFirmware, restart: SimulatedRestart.Latch) async throws {
        for await update in firmware.updates {
            switch update {
            case .applied(let sent):
                printLine("firmware update applied: \(sent.size) bytes, module \(sent.primaryModule.hashHex)")
            case .rejected(let reason):
                printLine("firmware update rejected: \(reason)")
            case .restart(let reason), .disconnect(let reason):
                restart.set(reason)
                throw SimulatedRestart(reason: reason)
            }
        }
    }
}
