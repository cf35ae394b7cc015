import CoAP
import Crypto
import Testing

@testable import Firmware

/// Seeded fuzzing of both server machines: random device messages (well-formed and not), timer
/// firings, flushes, disconnects, reconnects, Describes and cancels. The machines must never
/// trap, never finish twice, keep their state bounded, always have a deadline while running, and
/// always end once the device falls silent.
@Suite struct TransferFuzzTests {
    static let legacyDevice = DeviceProfile(
        platformID: 12,
        helloFlags: 0x16,
        maximumMessageSize: 960,
        maximumBinarySize: 1_000_000,
        otaChunkSize: 512
    )
    static let v3Device = DeviceProfile(
        platformID: 12,
        helloFlags: 0xF6,
        maximumMessageSize: 1152,
        maximumBinarySize: 1_000_000,
        otaChunkSize: 512
    )

    struct Fuzzer {
        var generator: SplitMix64
        var transfer: FirmwareTransfer
        let image: [UInt8]
        let firmware: ValidatedFirmware
        let transport: Transport
        var now = origin
        let ids = IDCounter(after: 0)
        var deviceIDs: UInt16 = 0x8000
        var sentIDs: [UInt16] = []
        var deviceCONs: [CoAPMessage] = []
        var deadline: ContinuousClock.Instant?
        var finished = 0
        var connected = true
        var token: UInt8 = 0x42
        var steps = 0
        /// The last request the transfer sent, which a cooperative device answers.
        var lastRequest: CoAPMessage?
        var highestChunk = 0

        init(otaProtocol: OTAProtocol, transport: Transport, seed: UInt64) {
            var generator = SplitMix64(seed: seed)
            let size = Int.random(in: 3000...9000, using: &generator)
            self.image = ModuleBuilder.application(size: size, seed: seed)
            self.firmware = try! ValidatedFirmware(validating: self.image, for: nil)
            var configuration = TransferConfiguration()
            configuration.burstSize = Int.random(in: 1...8, using: &generator)
            self.transfer = FirmwareTransfer(
                image: self.image,
                firmware: self.firmware,
                device: otaProtocol == .v3 ? TransferFuzzTests.v3Device : TransferFuzzTests.legacyDevice,
                configuration: configuration
            )
            self.transport = transport
            self.generator = generator
        }

        mutating func random(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &self.generator) }
        mutating func chance(_ p: Double) -> Bool { Double.random(in: 0..<1, using: &self.generator) < p }

        /// Records an issue when `condition` fails; cheaper than `#expect` on every step.
        func check(_ condition: Bool, _ comment: @autoclosure () -> String) {
            if !condition { Issue.record(Comment(rawValue: comment())) }
        }

        mutating func apply(_ actions: [TransferAction], timerFired: Bool = false) {
            self.steps += 1
            if timerFired { self.deadline = nil }
            let finishedBefore = self.finished
            self.check(actions.count <= 2 * 8 + 8, "too many actions at once: \(actions.count)")
            for action in actions {
                switch action {
                case .send(let message):
                    self.check((try? message.encoded()) != nil, "unencodable message")
                    if message.code.isRequest {
                        self.lastRequest = message
                        if let index = message.options.first(where: { $0.number == .chunkIndex })?.uintValue {
                            self.highestChunk = max(self.highestChunk, Int(index))
                        }
                        // Device OS dispatches on a first option `b1 <letter>`.
                        self.check(
                            message.options.first?.number == .uriPath && message.options.first?.value.count == 1,
                            "a request without a one-letter Uri-Path first"
                        )
                        self.sentIDs.append(message.messageID)
                        if self.sentIDs.count > 64 { self.sentIDs.removeFirst() }
                    }
                    if finishedBefore > 0 { self.check(message.type == .acknowledgement, "a request after the end") }
                case .deadline(let instant):
                    self.deadline = instant
                case .flush:
                    break
                case .progress(let progress):
                    self.check(progress.bytesDone <= progress.totalBytes, "more bytes done than the file has")
                    self.check(progress.chunksDone <= progress.chunkCount, "more chunks done than there are")
                case .finished:
                    self.finished += 1
                }
            }
            self.check(self.finished <= 1, "finished twice")
            if timerFired, let deadline = self.deadline {
                // What was due has been handled; a deadline may lie in the past only when the
                // timer is late.
                self.check(deadline > self.now, "a deadline left in the past after the timer fired")
            }
            self.check(self.transfer.footprint <= 4096, "state grew to \(self.transfer.footprint)")
            if self.finished == 0 {
                self.check(self.deadline != nil, "running without a deadline: it could wait forever")
            }
        }

        /// What a device that follows the protocol would answer to the last request (roughly: it
        /// keeps the run going deeper than random answers would).
        mutating func cooperativeMessage() -> CoAPMessage? {
            guard let request = self.lastRequest else { return nil }
            self.deviceIDs &+= 1
            let id = self.deviceIDs
            let type: CoAPType = self.transport == .udp ? .confirmable : .nonConfirmable
            switch (request.code, request.uriPath.first) {
            case (.post, "u"):
                return CoAPMessage(
                    type: type,
                    code: .changed,
                    messageID: id,
                    token: request.token,
                    payload: [UInt8(self.random(0...1))]
                )
            case (.post, "c") where request.type == .confirmable:
                return CoAPMessage(
                    type: type,
                    code: self.chance(0.85) ? .changed : .badRequest,
                    messageID: id,
                    token: request.token
                )
            case (.post, "c"), (.post, "C"):
                if request.uriPath.first == "c" { return nil }
                var ack = CoAPMessage(type: .nonConfirmable, code: .post, messageID: id)
                ack.appendPath("A")
                ack.options.append(
                    CoAPOption(.chunkIndex, uint: UInt32(max(0, self.highestChunk - self.random(0...3))))
                )
                if self.chance(0.3) { ack.payload = [UInt8(self.random(0...255)), 0, 0, 0] }
                return ack
            case (.put, "u"):
                if self.chance(0.5) {
                    return CoAPMessage(
                        type: .acknowledgement,
                        code: .changed,
                        messageID: request.messageID,
                        token: request.token,
                        payload: Array(#"{"r":0}"#.utf8)
                    )
                }
                if self.chance(0.5) {
                    return CoAPMessage(
                        type: .acknowledgement,
                        code: .badRequest,
                        messageID: request.messageID,
                        token: request.token
                    )
                }
                var missed = CoAPMessage(type: type, code: .get, messageID: id)
                missed.appendPath("c")
                missed.payload = [0, UInt8(self.random(0...self.highestChunk + 2))]
                return missed
            case (.post, "S"):
                var created = CoAPMessage(type: .confirmable, code: .created, messageID: id, token: request.token)
                created.options.append(CoAPOption(.windowSize, uint: UInt32(self.random(1...40))))
                created.options.append(
                    CoAPOption(.fileSize, uint: self.chance(0.7) ? 0 : UInt32(self.random(0...self.image.count)))
                )
                return created
            case (.post, "F"):
                return CoAPMessage(
                    type: .confirmable,
                    code: self.chance(0.8) ? .changed : .serviceUnavailable,
                    messageID: id,
                    token: request.token
                )
            default:
                return nil
            }
        }

        /// A message the device might send, or something like it.
        mutating func deviceMessage() -> CoAPMessage {
            if self.chance(0.5), let message = self.cooperativeMessage() { return message }
            self.deviceIDs &+= 1
            let id = self.deviceIDs
            let knownID =
                self.sentIDs.isEmpty
                ? UInt16(self.random(0...65535)) : self.sentIDs[self.random(0...(self.sentIDs.count - 1))]
            let token: [UInt8] =
                self.chance(0.8) ? [self.token] : (self.chance(0.5) ? [] : [UInt8(self.random(0...255))])
            let codes: [CoAPCode] = [
                .created, .changed, .badRequest, .serviceUnavailable, .content, .notFound,
                CoAPCode(rawValue: UInt8(self.random(0...255))),
            ]
            let code = codes[self.random(0...(codes.count - 1))]
            let payloads: [[UInt8]] = [
                [], [0x01], [0x00], Array(#"{"r":0}"#.utf8), Array(#"{"r":-1330}"#.utf8),
                Array(#"{"code":-1331,"message":"x"}"#.utf8), Array(#"{"code":-240}"#.utf8),
                Array(#"{"code":-1380}"#.utf8),
                Array("{\"code\":".utf8), (0..<self.random(0...40)).map { _ in UInt8(self.random(0...255)) },
            ]
            let payload = payloads[self.random(0...(payloads.count - 1))]
            switch self.random(0...9) {
            case 0:
                return CoAPMessage(type: .acknowledgement, code: .empty, messageID: knownID)
            case 1:
                return CoAPMessage(
                    type: .acknowledgement,
                    code: code,
                    messageID: knownID,
                    token: token,
                    payload: payload
                )
            case 2:
                return CoAPMessage(type: .reset, code: .empty, messageID: knownID)
            case 3, 4:
                var message = CoAPMessage(
                    type: self.chance(0.5) ? .confirmable : .nonConfirmable,
                    code: code,
                    messageID: id,
                    token: token,
                    payload: payload
                )
                if code == .created {
                    if self.chance(0.8) {
                        message.options.append(CoAPOption(.windowSize, uint: UInt32(self.random(0...300))))
                    }
                    if self.chance(0.8) {
                        message.options.append(CoAPOption(.fileSize, uint: UInt32(self.random(0...12000))))
                    }
                }
                return message
            case 5:
                var message = CoAPMessage(
                    type: self.chance(0.5) ? .confirmable : .nonConfirmable,
                    code: .get,
                    messageID: id
                )
                message.appendPath("c")
                message.payload = (0..<self.random(0...10)).flatMap { _ in
                    [UInt8(self.random(0...1)), UInt8(self.random(0...30))]
                }
                if self.chance(0.1) { message.payload.append(7) }
                return message
            case 6, 7:
                var message = CoAPMessage(type: .nonConfirmable, code: .post, messageID: id)
                message.appendPath("A")
                if self.chance(0.95) {
                    message.options.append(CoAPOption(.chunkIndex, uint: UInt32(self.random(0...25))))
                }
                message.payload = (0..<self.random(0...9)).map { _ in UInt8(self.random(0...255)) }
                return message
            case 8 where !self.deviceCONs.isEmpty:
                return self.deviceCONs[self.random(0...(self.deviceCONs.count - 1))]
            default:
                let bytes = (0..<self.random(4...30)).map { _ in UInt8(self.random(0...255)) }
                return (try? CoAPMessage(decoding: bytes))
                    ?? CoAPMessage(type: .nonConfirmable, code: .post, messageID: id)
            }
        }

        mutating func step() {
            let ids = self.ids
            switch self.random(0...999) {
            case 0..<600:
                let message = self.deviceMessage()
                if message.type == .confirmable {
                    self.deviceCONs.append(message)
                    if self.deviceCONs.count > 8 { self.deviceCONs.removeFirst() }
                }
                if self.transfer.claims(message) {
                    self.apply(self.transfer.receive(message, at: self.now) { ids.next() })
                } else {
                    self.check(
                        self.transfer.receive(message, at: self.now) { ids.next() }.isEmpty,
                        "acted on an unclaimed message"
                    )
                }
            case 600..<700:
                if let deadline = self.deadline, self.chance(0.1) { self.now = max(self.now, deadline) }
                self.apply(self.transfer.timerFired(at: self.now) { ids.next() }, timerFired: true)
            case 700..<850:
                self.apply(self.transfer.flushed(at: self.now) { ids.next() })
            case 850..<860:
                self.connected = false
                self.apply(self.transfer.disconnected(at: self.now))
            case 860..<875:
                self.connected = true
                self.token = UInt8(self.random(1...255))
                let connection = TransferConnection(transport: self.transport, token: self.token)
                self.apply(self.transfer.connected(connection, at: self.now) { ids.next() })
            case 875..<885:
                let hash =
                    self.chance(0.5) ? self.firmware.primaryModule.suffix.sha256 : [UInt8](repeating: 1, count: 32)
                let modules = [InstalledModule(function: .userPart, index: 1, version: 6, hash: hash)]
                self.apply(self.transfer.described(modules, at: self.now) { ids.next() })
            case 885..<888:
                self.apply(self.transfer.cancel(at: self.now) { ids.next() })
            default:
                self.now = self.now + .milliseconds(self.random(1...3000))
            }
        }

        /// The device falls silent: only the timer runs. The transfer must end.
        mutating func drain() {
            let ids = self.ids
            var firings = 0
            while self.finished == 0, let deadline = self.deadline, firings < 500 {
                self.now = max(self.now, deadline)
                self.apply(self.transfer.timerFired(at: self.now) { ids.next() }, timerFired: true)
                // Writes complete.
                self.apply(self.transfer.flushed(at: self.now) { ids.next() })
                firings += 1
            }
            #expect(self.finished == 1, "did not end after \(firings) timer firings")
            #expect(self.transfer.outcome != nil)
        }
    }

    static let seeds: [UInt64] = Array(1...8)

    /// Runs transfers one after another for `steps` random inputs in all, draining each.
    static func fuzz(_ otaProtocol: OTAProtocol, seed: UInt64, steps: Int = 3000) -> (runs: Int, successes: Int) {
        var runs = 0
        var successes = 0
        var total = 0
        var generator = SplitMix64(seed: seed)
        while total < steps {
            let transport: Transport = Bool.random(using: &generator) ? .tcp : .udp
            var fuzzer = Fuzzer(otaProtocol: otaProtocol, transport: transport, seed: generator.next())
            let ids = fuzzer.ids
            fuzzer.apply(
                fuzzer.transfer.start(on: TransferConnection(transport: transport, token: 0x42), at: fuzzer.now) {
                    ids.next()
                }
            )
            while fuzzer.finished == 0, total < steps {
                fuzzer.step()
                total += 1
            }
            // A few more inputs after the end: late and duplicated messages.
            for _ in 0..<20 { fuzzer.step() }
            fuzzer.drain()
            runs += 1
            if fuzzer.transfer.outcome == .success { successes += 1 }
        }
        return (runs, successes)
    }

    @Test(arguments: seeds)
    func legacyNeverTrapsAndAlwaysEnds(seed: UInt64) {
        let result = Self.fuzz(.legacy, seed: seed)
        #expect(result.runs > 1)
    }

    @Test(arguments: seeds)
    func v3NeverTrapsAndAlwaysEnds(seed: UInt64) {
        let result = Self.fuzz(.v3, seed: seed)
        #expect(result.runs > 1)
    }

    @Test func theFuzzerReachesTheEndOfTransfers() {
        // Not only refusals and timeouts: the cooperative answers carry some runs to success.
        let legacy = (101...102).map { Self.fuzz(.legacy, seed: $0) }.reduce(0) { $0 + $1.successes }
        let v3 = (101...102).map { Self.fuzz(.v3, seed: $0) }.reduce(0) { $0 + $1.successes }
        #expect(legacy > 0)
        #expect(v3 > 0)
    }
}
