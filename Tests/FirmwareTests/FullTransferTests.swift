import Crypto
import Firmware
import Testing

/// Whole transfers between the server machine and the device machine in memory: both protocols,
/// both transports, loss, duplication, reordering, disconnects and misbehaving devices.
@Suite struct FullTransferTests {
    /// A Gen 3 device on Device OS 5.8 (v3, UDP).
    static let argon = DeviceProfile(
        platformID: 12,
        helloFlags: 0x00F6,
        systemVersion: 5800,
        maximumMessageSize: 1152,
        maximumBinarySize: 1_536_000,
        otaChunkSize: 512
    )
    /// A Gen 2 device (legacy): an Electron over UDP or a Photon over TCP.
    static let gen2 = DeviceProfile(
        platformID: 12,
        helloFlags: 0x0016,
        systemVersion: 3300,
        maximumMessageSize: 960,
        maximumBinarySize: 1_536_000,
        otaChunkSize: 512
    )

    struct Run {
        var otaProtocol: OTAProtocol
        var transport: Transport
        var size = 40_000
        var conditions = Simulation.Conditions()
        var misbehaviour = ReceiverMisbehaviour()
        var fastOTA: Bool?
        var staleUpdateAfterDisconnect = true
        var configuration = TransferConfiguration()
        var seed: UInt64 = 1
    }

    static func simulate(_ run: Run, prepare: (inout Simulation) -> Void = { _ in }) -> (Simulation, ValidatedFirmware)
    {
        let image = ModuleBuilder.application(size: run.size, platformID: 12, seed: run.seed)
        let firmware = try! ValidatedFirmware(validating: image, for: nil)
        var receiver = UpdateReceiver.Configuration(
            otaProtocol: run.otaProtocol,
            transport: run.transport,
            platformID: 12
        )
        receiver.misbehaviour = run.misbehaviour
        receiver.fastOTA = run.fastOTA
        receiver.staleUpdateAfterDisconnect = run.staleUpdateAfterDisconnect
        var simulation = Simulation(
            image: image,
            fileSHA256: firmware.fileSHA256,
            device: run.otaProtocol == .v3 ? Self.argon : Self.gen2,
            receiver: receiver,
            transport: run.transport,
            conditions: run.conditions,
            configuration: run.configuration,
            seed: run.seed
        )
        prepare(&simulation)
        simulation.run()
        return (simulation, firmware)
    }

    private func expectSuccess(
        _ simulation: Simulation,
        _ firmware: ValidatedFirmware,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(simulation.outcome == .success, sourceLocation: sourceLocation)
        #expect(simulation.finishedCount == 1, sourceLocation: sourceLocation)
        #expect(simulation.applied.map(\.fileSHA256) == [firmware.fileSHA256], sourceLocation: sourceLocation)
        #expect(simulation.applied.first?.modules == firmware.modules, sourceLocation: sourceLocation)
        #expect(simulation.lastProgress?.bytesDone == firmware.size, sourceLocation: sourceLocation)
    }

    static let chunks = (40_000 + 511) / 512

    // MARK: Clean links

    @Test(arguments: [Transport.tcp, .udp])
    func legacyFastOTA(transport: Transport) {
        let (simulation, firmware) = Self.simulate(Run(otaProtocol: .legacy, transport: transport))
        self.expectSuccess(simulation, firmware)
        #expect(simulation.chunkMessages == Self.chunks)
    }

    @Test(arguments: [Transport.tcp, .udp])
    func legacyNormalMode(transport: Transport) {
        var run = Run(otaProtocol: .legacy, transport: transport)
        run.fastOTA = false
        let (simulation, firmware) = Self.simulate(run)
        self.expectSuccess(simulation, firmware)
    }

    @Test(arguments: [Transport.tcp, .udp])
    func v3(transport: Transport) {
        let (simulation, firmware) = Self.simulate(Run(otaProtocol: .v3, transport: transport))
        self.expectSuccess(simulation, firmware)
        #expect(simulation.chunkMessages == Self.chunks)
    }

    // MARK: Lossy UDP

    static let lossy = Simulation.Conditions(loss: 0.1, duplication: 0.05, jitter: .milliseconds(40))

    @Test(arguments: [1, 2, 3, 4] as [UInt64])
    func legacyFastOTAOverALossyLink(seed: UInt64) {
        var run = Run(otaProtocol: .legacy, transport: .udp, conditions: Self.lossy, seed: seed)
        run.size = 60_000
        let (simulation, firmware) = Self.simulate(run)
        self.expectSuccess(simulation, firmware)
        #expect(simulation.chunkMessages > (60_000 + 511) / 512)
    }

    @Test(arguments: [1, 2, 3, 4] as [UInt64])
    func legacyNormalModeOverALossyLink(seed: UInt64) {
        var run = Run(otaProtocol: .legacy, transport: .udp, conditions: Self.lossy, seed: seed)
        run.fastOTA = false
        let (simulation, firmware) = Self.simulate(run)
        self.expectSuccess(simulation, firmware)
    }

    @Test(arguments: [1, 2, 3, 4] as [UInt64])
    func v3OverALossyLink(seed: UInt64) {
        var run = Run(otaProtocol: .v3, transport: .udp, conditions: Self.lossy, seed: seed)
        run.size = 150_000
        let (simulation, firmware) = Self.simulate(run)
        self.expectSuccess(simulation, firmware)
    }

    @Test func v3OverAVeryBadLink() {
        var run = Run(otaProtocol: .v3, transport: .udp, seed: 9)
        run.conditions = Simulation.Conditions(loss: 0.3, duplication: 0.2, jitter: .milliseconds(200))
        let (simulation, firmware) = Self.simulate(run)
        self.expectSuccess(simulation, firmware)
    }

    // MARK: Misbehaving devices

    @Test func legacyFastOTAResendsDroppedChunksItIsAskedFor() {
        var run = Run(otaProtocol: .legacy, transport: .tcp)
        run.misbehaviour.dropOnce = [3, 10, 50, 78]
        let (simulation, firmware) = Self.simulate(run)
        self.expectSuccess(simulation, firmware)
        #expect(simulation.chunkMessages == Self.chunks + 4)
    }

    @Test func legacyNormalModeResendsACorruptedChunk() {
        var run = Run(otaProtocol: .legacy, transport: .tcp)
        run.fastOTA = false
        run.misbehaviour.corruptOnce = 7
        let (simulation, firmware) = Self.simulate(run)
        self.expectSuccess(simulation, firmware)
    }

    @Test func legacyFastOTAAsksAgainForACorruptedChunk() {
        var run = Run(otaProtocol: .legacy, transport: .udp)
        run.misbehaviour.corruptOnce = 7
        let (simulation, firmware) = Self.simulate(run)
        self.expectSuccess(simulation, firmware)
        #expect(simulation.chunkMessages == Self.chunks + 1)
    }

    @Test func v3StartsOverWhenTheDeviceFindsTheFileCorrupt() {
        var run = Run(otaProtocol: .v3, transport: .udp)
        run.misbehaviour.corruptOnce = 7
        let (simulation, firmware) = Self.simulate(run)
        self.expectSuccess(simulation, firmware)
        // The whole file twice: Discard-Data dropped what the device had.
        #expect(simulation.chunkMessages == 2 * Self.chunks)
    }

    @Test func legacyStartsAgainFromZeroAfterADisconnect() {
        var run = Run(otaProtocol: .legacy, transport: .tcp, staleUpdateAfterDisconnect: false)
        run.misbehaviour.disconnectAfterChunks = 40
        let (simulation, firmware) = Self.simulate(run)
        self.expectSuccess(simulation, firmware)
        #expect(simulation.lastProgress?.attempt == 2)
        #expect(simulation.chunkMessages >= Self.chunks + 39)
    }

    @Test func legacyWaitsOutADeviceThatStillThinksItIsUpdating() {
        var run = Run(otaProtocol: .legacy, transport: .tcp)
        run.misbehaviour.disconnectAfterChunks = 40
        let (simulation, firmware) = Self.simulate(run)
        // UpdateBegin is refused (5.03) until the device's 300 s update timeout restarts it.
        self.expectSuccess(simulation, firmware)
        #expect(simulation.rejections == ["update timeout"])
        #expect(simulation.restarts == 2)  // the timeout, then the update
        #expect(simulation.now - origin > .seconds(300))
    }

    @Test(arguments: [Transport.tcp, .udp])
    func v3ResumesWhereTheDeviceWasAfterADisconnect(transport: Transport) {
        var run = Run(otaProtocol: .v3, transport: transport)
        run.size = 200_000
        run.misbehaviour.disconnectAfterChunks = 200
        let (simulation, firmware) = Self.simulate(run)
        self.expectSuccess(simulation, firmware)
        let chunks = (200_000 + 511) / 512
        #expect(simulation.disconnects.first == "misbehaviour: disconnect after 200 chunks")
        #expect(simulation.lastProgress?.attempt == 2)
        // Resumed from what the device held (about 200 chunks), not from zero: only what was in
        // flight when the connection dropped (at most a window) is sent twice.
        let resumed = simulation.progressLog.first { $0.attempt == 2 }
        #expect((resumed?.bytesDone ?? 0) >= 190 * 512)
        #expect(simulation.chunkMessages < chunks + 256)
    }

    @Test func v3ResumesAfterTheNetworkDropsTheConnection() {
        var run = Run(otaProtocol: .v3, transport: .udp)
        run.size = 200_000
        let (simulation, firmware) = Self.simulate(run) { $0.scheduleDisconnect(after: .milliseconds(300)) }
        self.expectSuccess(simulation, firmware)
        #expect(simulation.disconnects == ["network", "restart"])
    }

    @Test func aDeviceThatRefusesFailsTheTransfer() {
        var legacy = Run(otaProtocol: .legacy, transport: .tcp)
        legacy.misbehaviour.refuse = true
        let (refused, _) = Self.simulate(legacy)
        #expect(
            refused.outcome
                == .failure(
                    "the device refused the update (5.03): updates disabled, another update in progress, "
                        + "or the file too large for it"
                )
        )
        var v3 = Run(otaProtocol: .v3, transport: .udp)
        v3.misbehaviour.refuse = true
        let (disabled, _) = Self.simulate(v3)
        #expect(
            disabled.outcome
                == .failure("the device refused the update: updates disabled (-1380): Firmware updates are disabled")
        )
        #expect(disabled.applied.isEmpty)
    }

    @Test func aLegacyDeviceThatNeverGetsAChunkFailsTheTransfer() {
        var run = Run(otaProtocol: .legacy, transport: .udp)
        run.misbehaviour.dropAlways = [5]
        let (simulation, _) = Self.simulate(run)
        #expect(simulation.outcome == .failure("the device asked for chunk 5 9 times (bad CRC or missed); giving up"))
        #expect(simulation.finishedCount == 1)
    }

    @Test func aV3DeviceThatNeverGetsAChunkFailsTheTransfer() {
        var run = Run(otaProtocol: .v3, transport: .udp)
        run.misbehaviour.dropAlways = [5]
        let (simulation, _) = Self.simulate(run)
        #expect(simulation.outcome == .failure("no progress for 30 s; gave up after 5 restarts"))
        #expect(simulation.finishedCount == 1)
        #expect(simulation.now - origin < .seconds(600))
    }

    @Test func aCancelledV3TransferDiscardsWhatTheDeviceKept() {
        var run = Run(otaProtocol: .v3, transport: .udp)
        run.size = 200_000
        let (simulation, _) = Self.simulate(run) { $0.scheduleCancel(after: .milliseconds(200)) }
        #expect(simulation.outcome == .failure("cancelled"))
        #expect(simulation.device.heldBytes == 0)
        #expect(!simulation.device.isUpdating)
        #expect(simulation.rejections == ["cancelled by the server"])
    }

    @Test func theSentFirmwareIsRecognisedInTheDescribeAfterwards() {
        let (simulation, firmware) = Self.simulate(Run(otaProtocol: .v3, transport: .udp))
        let module = simulation.applied[0].primaryModule
        let described = [
            InstalledModule(
                function: .systemPart,
                index: 1,
                version: 5800,
                validationsPerformed: 30,
                validationsPassed: 30
            ),
            InstalledModule(
                function: .userPart,
                index: 1,
                version: module.version,
                hash: module.suffix.sha256,
                validationsPerformed: 30,
                validationsPassed: 30
            ),
        ]
        #expect(UpdateVerification(sent: firmware, described: described) == .applied)
    }
}
