import CoAP
import Firmware

/// A virtual network between one ``FirmwareTransfer`` (the server) and one ``UpdateReceiver``
/// (the device), in virtual time: messages are delivered after a latency, and over UDP can be
/// lost, duplicated and reordered, with CoAP's CON retransmission on both ends (the transports'
/// job, done here). Disconnects end the connection (in-flight messages are lost) and the device
/// comes back after a while.
struct Simulation {
    struct Conditions {
        /// Probability that a UDP datagram is lost.
        var loss = 0.0
        /// Probability that a UDP datagram arrives twice.
        var duplication = 0.0
        /// Extra random delay per datagram (UDP), which reorders them.
        var jitter: Duration = .zero
        /// One-way latency.
        var latency: Duration = .milliseconds(10)
    }

    enum Event {
        case toDevice(CoAPMessage, epoch: Int)
        case toServer(CoAPMessage, epoch: Int)
        case serverTimer(generation: Int)
        case deviceTimer(generation: Int)
        case flushed(epoch: Int)
        case retransmitFromServer(UInt16, epoch: Int)
        case retransmitFromDevice(UInt16, epoch: Int)
        case reconnect
        case dropConnection
        case deviceLeft(String)
        case described([InstalledModule], epoch: Int)
        case cancel
    }

    let transport: Transport
    let conditions: Conditions
    var server: FirmwareTransfer
    var device: UpdateReceiver
    var generator: SplitMix64
    var now = origin
    private var events: [(time: ContinuousClock.Instant, sequence: Int, event: Event)] = []
    private var sequence = 0
    private var epoch = 0
    private var connected = true
    /// The device has gone (restarting, or closing the connection): it hears nothing more, but
    /// what it sent before still arrives, as a TCP close arrives after the data in front of it.
    private var deviceGone = false
    private let serverIDs = IDCounter(after: 0x1000)
    private let deviceIDs = IDCounter(after: 0x9000)
    private var serverTimerGeneration = 0
    private var deviceTimerGeneration = 0
    private var pendingFromServer: [UInt16: (message: CoAPMessage, tries: Int)] = [:]
    private var pendingFromDevice: [UInt16: (message: CoAPMessage, tries: Int)] = [:]
    let token: UInt8 = 0x61
    /// How long a device takes to come back after a disconnect or a restart.
    var reconnectDelay: Duration = .seconds(2)
    /// What the device runs, as its system Describe reports it after each connection.
    private(set) var running = [
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
            version: 6,
            hash: [UInt8](repeating: 0xEE, count: 32),
            validationsPerformed: 30,
            validationsPassed: 30
        ),
    ]

    // What happened.
    private(set) var outcome: TransferOutcome?
    private(set) var finishedCount = 0
    private(set) var finishedAt: ContinuousClock.Instant?
    private(set) var applied: [ValidatedFirmware] = []
    private(set) var rejections: [String] = []
    private(set) var disconnects: [String] = []
    private(set) var restarts = 0
    private(set) var chunkMessages = 0
    private(set) var chunkBytes = 0
    private(set) var lastProgress: TransferProgress?
    private(set) var progressLog: [TransferProgress] = []
    private(set) var steps = 0

    init(
        image: [UInt8],
        fileSHA256: [UInt8],
        device profile: DeviceProfile,
        receiver: UpdateReceiver.Configuration,
        transport: Transport,
        conditions: Conditions = Conditions(),
        configuration: TransferConfiguration = TransferConfiguration(),
        seed: UInt64 = 1
    ) {
        self.transport = transport
        self.conditions = conditions
        let firmware = try! ValidatedFirmware(validating: image, for: nil)
        precondition(firmware.fileSHA256 == fileSHA256)
        self.server = FirmwareTransfer(image: image, firmware: firmware, device: profile, configuration: configuration)
        self.device = UpdateReceiver(configuration: receiver)
        self.generator = SplitMix64(seed: seed)
    }

    /// Starts the transfer and runs until nothing is left to happen (or a limit is hit).
    mutating func run(maximumSteps: Int = 2_000_000, until limit: Duration = .seconds(4 * 3600)) {
        let ids = self.serverIDs
        let actions = self.server.start(
            on: TransferConnection(transport: self.transport, token: self.token),
            at: self.now
        ) {
            ids.next()
        }
        self.serverActions(actions)
        while !self.events.isEmpty, self.steps < maximumSteps, self.now < origin + limit {
            self.steps += 1
            let next = self.events.removeFirst()
            self.now = max(self.now, next.time)
            self.handle(next.event)
        }
    }

    /// Drops the connection at `time` (as the network would).
    mutating func scheduleDisconnect(after delay: Duration) {
        self.schedule(.dropConnection, after: delay)
    }

    /// Cancels the transfer at `time`.
    mutating func scheduleCancel(after delay: Duration) {
        self.schedule(.cancel, after: delay)
    }

    private mutating func schedule(_ event: Event, after delay: Duration) {
        let time = self.now + delay
        self.sequence += 1
        let index = self.events.firstIndex { $0.time > time } ?? self.events.endIndex
        self.events.insert((time, self.sequence, event), at: index)
    }

    private mutating func handle(_ event: Event) {
        switch event {
        case .toDevice(let message, let epoch):
            guard epoch == self.epoch, self.connected, !self.deviceGone else { return }
            self.deliverToDevice(message)
        case .toServer(let message, let epoch):
            guard epoch == self.epoch, self.connected else { return }
            self.deliverToServer(message)
        case .serverTimer(let generation):
            guard generation == self.serverTimerGeneration else { return }
            let ids = self.serverIDs
            self.serverActions(self.server.timerFired(at: self.now) { ids.next() })
        case .deviceTimer(let generation):
            guard generation == self.deviceTimerGeneration else { return }
            let ids = self.deviceIDs
            self.deviceActions(self.device.timerFired(at: self.now) { ids.next() })
        case .flushed(let epoch):
            guard epoch == self.epoch, self.connected else { return }
            let ids = self.serverIDs
            self.serverActions(self.server.flushed(at: self.now) { ids.next() })
        case .retransmitFromServer(let id, let epoch):
            guard epoch == self.epoch, self.connected, let pending = self.pendingFromServer[id] else { return }
            self.pendingFromServer[id] = nil
            self.transmit(pending.message, toDevice: true, tries: pending.tries + 1)
        case .retransmitFromDevice(let id, let epoch):
            guard epoch == self.epoch, self.connected, !self.deviceGone, let pending = self.pendingFromDevice[id] else {
                return
            }
            self.pendingFromDevice[id] = nil
            self.transmit(pending.message, toDevice: false, tries: pending.tries + 1)
        case .reconnect:
            guard !self.connected else { return }
            self.connected = true
            let ids = self.serverIDs
            let connection = TransferConnection(transport: self.transport, token: self.token)
            self.serverActions(self.server.connected(connection, at: self.now) { ids.next() })
            // The system Describe follows the Hello.
            let running = self.running
            self.schedule(.described(running, epoch: self.epoch), after: self.conditions.latency)
        case .dropConnection:
            self.drop("network")
        case .deviceLeft(let reason):
            self.drop(reason)
        case .described(let modules, let epoch):
            guard epoch == self.epoch, self.connected else { return }
            let ids = self.serverIDs
            self.serverActions(self.server.described(modules, at: self.now) { ids.next() })
        case .cancel:
            let ids = self.serverIDs
            self.serverActions(self.server.cancel(at: self.now) { ids.next() })
        }
    }

    private mutating func deliverToServer(_ message: CoAPMessage) {
        if message.type == .acknowledgement || message.type == .reset {
            self.pendingFromServer[message.messageID] = nil
        }
        let ids = self.serverIDs
        if self.server.claims(message) {
            self.serverActions(self.server.receive(message, at: self.now) { ids.next() })
        } else if message.type == .confirmable {
            // The session ACKs what is not the transfer's.
            self.transmit(message.emptyAcknowledgement, toDevice: true)
        }
    }

    private mutating func deliverToDevice(_ message: CoAPMessage) {
        if message.type == .acknowledgement || message.type == .reset {
            self.pendingFromDevice[message.messageID] = nil
        }
        let ids = self.deviceIDs
        if self.device.handles(message) {
            self.deviceActions(self.device.receive(message, at: self.now) { ids.next() })
        } else if message.type == .confirmable {
            self.transmit(message.emptyAcknowledgement, toDevice: false)
        }
    }

    private mutating func transmit(_ message: CoAPMessage, toDevice: Bool, tries: Int = 1) {
        guard self.connected else { return }
        if toDevice, message.type == .nonConfirmable, message.uriPath.first == "c" || message.uriPath.first == "C" {
            self.chunkMessages += 1
            self.chunkBytes += message.payload.count
        }
        var copies = 1
        var delay = self.conditions.latency
        if self.transport == .udp {
            // CON retransmission (CoAP, both ends): same message ID, up to 8 sends.
            if message.type == .confirmable, tries < 8 {
                if toDevice {
                    self.pendingFromServer[message.messageID] = (message, tries)
                    self.schedule(.retransmitFromServer(message.messageID, epoch: self.epoch), after: .seconds(2))
                } else {
                    self.pendingFromDevice[message.messageID] = (message, tries)
                    self.schedule(.retransmitFromDevice(message.messageID, epoch: self.epoch), after: .seconds(2))
                }
            }
            if Double.random(in: 0..<1, using: &self.generator) < self.conditions.loss { copies = 0 }
            if copies == 1, Double.random(in: 0..<1, using: &self.generator) < self.conditions.duplication {
                copies = 2
            }
        }
        for _ in 0..<copies {
            if self.transport == .udp, self.conditions.jitter > .zero {
                let jitter = Int64(self.conditions.jitter / .milliseconds(1))
                delay = self.conditions.latency + .milliseconds(Int64.random(in: 0...jitter, using: &self.generator))
            }
            self.schedule(
                toDevice ? .toDevice(message, epoch: self.epoch) : .toServer(message, epoch: self.epoch),
                after: delay
            )
        }
    }

    private mutating func serverActions(_ actions: [TransferAction]) {
        for action in actions {
            switch action {
            case .send(let message):
                self.transmit(message, toDevice: true)
            case .deadline(let instant):
                self.serverTimerGeneration += 1
                if let instant {
                    self.schedule(
                        .serverTimer(generation: self.serverTimerGeneration),
                        after: max(.zero, instant - self.now)
                    )
                }
            case .flush:
                self.schedule(.flushed(epoch: self.epoch), after: .milliseconds(1))
            case .progress(let progress):
                self.lastProgress = progress
                self.progressLog.append(progress)
            case .finished(let outcome):
                self.outcome = outcome
                self.finishedCount += 1
                self.finishedAt = self.now
            }
        }
    }

    private mutating func deviceActions(_ actions: [UpdateReceiver.Action]) {
        for action in actions {
            switch action {
            case .send(let message):
                self.transmit(message, toDevice: false)
            case .deadline(let instant):
                self.deviceTimerGeneration += 1
                if let instant {
                    self.schedule(
                        .deviceTimer(generation: self.deviceTimerGeneration),
                        after: max(.zero, instant - self.now)
                    )
                }
            case .disconnect(let reason):
                self.deviceLeaves(reason)
            case .applied(let firmware):
                self.applied.append(firmware)
                self.running[1].hash = firmware.primaryModule.suffix.sha256
            case .rejected(let reason):
                self.rejections.append(reason)
            case .restart:
                self.restarts += 1
                self.deviceLeaves("restart")
            }
        }
    }

    /// The device closes the connection after what it has sent.
    private mutating func deviceLeaves(_ reason: String) {
        guard self.connected, !self.deviceGone else { return }
        self.deviceGone = true
        self.pendingFromDevice = [:]
        let jitter = self.transport == .udp ? self.conditions.jitter : .zero
        self.schedule(.deviceLeft(reason), after: self.conditions.latency + jitter + .milliseconds(1))
    }

    /// Ends the connection; the device comes back after ``reconnectDelay``.
    private mutating func drop(_ reason: String) {
        guard self.connected else { return }
        self.deviceGone = false
        self.disconnects.append(reason)
        self.connected = false
        self.epoch += 1
        self.pendingFromServer = [:]
        self.pendingFromDevice = [:]
        self.device.connectionLost()
        self.serverActions(self.server.disconnected(at: self.now))
        self.schedule(.reconnect, after: self.reconnectDelay)
    }
}
