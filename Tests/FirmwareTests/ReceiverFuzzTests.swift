import CoAP
import Crypto
import Testing

@testable import Firmware

/// Seeded fuzzing of the simulated device: valid server messages, mutated ones, ACKs, timer
/// firings and lost connections. It must never trap and keep its state bounded.
@Suite struct ReceiverFuzzTests {
    static let image = ModuleBuilder.application(size: 3000, seed: 5)

    static func templates(_ otaProtocol: OTAProtocol) -> [[UInt8]] {
        let sha = Array(SHA256.hash(data: image))
        let chunk = Array(image[0..<512])
        switch otaProtocol {
        case .legacy:
            return [
                hex("41 02 00 2a 07 b1 75 ff 01 02 00 00 00 0b b8 00 00 00 00 00"),
                hex("41 02 00 2a 07 b1 75 ff 00 02 00 00 00 0b b8 00 00 00 00 00"),
                hex("41 02 00 2b 07 b1 63 44") + be32(CRC32.checksum(chunk)) + [0xFF] + chunk,
                hex("51 02 00 2c 07 b1 63 44") + be32(CRC32.checksum(chunk)) + hex("02 00 00 ff") + chunk,
                hex("51 02 00 2d 07 b1 63 44 00 00 00 00 02 00 05 ff 01 02 03"),
                hex("41 03 00 2e 07 b1 75"),
                hex("41 02 00 2f b1 75"),
            ]
        case .v3:
            return [
                hex("41 02 01 00 61 b1 53 e2 06 f1 0b b8 4d 13") + sha + hex("42 02 00"),
                hex("41 02 01 00 61 b1 53 e2 06 f1 0b b8 4d 13") + sha + hex("42 02 00 40"),
                hex("50 02 01 01 b1 43 e1 06 e9 01 ff") + chunk,
                hex("50 02 01 02 b1 43 e1 06 e9 06 ff") + Array(image[2560...]),
                hex("41 02 01 03 61 b1 43 e1 06 e9 02 ff 00"),
                hex("41 02 01 04 61 b1 46"),
                hex("41 02 01 05 61 b1 46 e0 06 fd 40"),
                hex("60 00 9a 02"),
            ]
        }
    }

    @Test(arguments: [OTAProtocol.legacy, .v3], [Transport.tcp, .udp])
    func neverTraps(otaProtocol: OTAProtocol, transport: Transport) {
        var generator = SplitMix64(seed: otaProtocol == .v3 ? 11 : 12)
        var configuration = UpdateReceiver.Configuration(otaProtocol: otaProtocol, transport: transport, platformID: 12)
        configuration.misbehaviour.dropOnce = [1]
        configuration.misbehaviour.corruptOnce = 2
        var device = UpdateReceiver(configuration: configuration)
        var now = origin
        let ids = IDCounter(after: 0x9A00)
        let templates = Self.templates(otaProtocol)
        for _ in 0..<20000 {
            switch Int.random(in: 0..<100, using: &generator) {
            case 0..<80:
                var bytes = templates[Int.random(in: 0..<templates.count, using: &generator)]
                if Bool.random(using: &generator) {
                    // Mutate a few bytes, or cut the message short.
                    for _ in 0..<Int.random(in: 1...3, using: &generator) {
                        bytes[Int.random(in: 0..<bytes.count, using: &generator)] = UInt8.random(
                            in: 0...255,
                            using: &generator
                        )
                    }
                    if Bool.random(using: &generator) {
                        bytes = Array(bytes.prefix(Int.random(in: 4...bytes.count, using: &generator)))
                    }
                }
                bytes[2] = UInt8.random(in: 0...255, using: &generator)
                guard let message = try? CoAPMessage(decoding: bytes) else { continue }
                for action in device.receive(message, at: now, messageIDs: { ids.next() }) {
                    if case .send(let reply) = action { #expect((try? reply.encoded()) != nil) }
                }
            case 80..<90:
                now = now + .milliseconds(Int.random(in: 1...400_000, using: &generator))
                _ = device.timerFired(at: now) { ids.next() }
            case 90..<93:
                device.connectionLost()
            default:
                now = now + .milliseconds(Int.random(in: 1...100, using: &generator))
            }
            #expect(device.replies.count <= UpdateReceiver.maximumReplies)
        }
    }
}
