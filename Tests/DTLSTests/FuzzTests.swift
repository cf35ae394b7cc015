@preconcurrency import Crypto
import DTLS
import Testing

@testable import DTLS

/// Seeded fuzzing of the record codec, the session and the handshake: garbage, truncation at
/// every byte, bit flips, wrong MACs, replays, old epochs and ClientHello floods never crash,
/// never authenticate anything forged, and never grow memory past the documented bounds.
@Suite struct FuzzTests {
    /// Random datagrams, half of them with a plausible DTLS header.
    static func garbage(_ generator: inout SplitMix64) -> [UInt8] {
        var bytes = generator.bytes(Int(generator.next() % 160))
        if generator.next() % 2 == 0, bytes.count >= 13 {
            let types: [UInt8] = [20, 21, 22, 23, 25, 253, 254]
            bytes[0] = types[Int(generator.next() % UInt64(types.count))]
            bytes[1] = 0xFE
            bytes[2] = 0xFD
            bytes[3] = 0
            bytes[4] = UInt8(generator.next() % 3)
            let length = bytes.count - (bytes[0] == 25 || bytes[0] == 253 ? 21 : 13)
            if length >= 0, generator.next() % 2 == 0 {
                let offset = bytes[0] == 25 || bytes[0] == 253 ? 19 : 11
                bytes[offset] = UInt8(length >> 8)
                bytes[offset + 1] = UInt8(length & 0xFF)
            }
        }
        return bytes
    }

    @Test func garbageNeverOpensOrMovesTheSession() throws {
        var (session, _) = try SessionTests.established()
        let window = session.replayWindow
        var generator = SplitMix64(seed: 0x6A2B)
        for _ in 0..<20_000 {
            let datagram = Self.garbage(&generator)
            _ = DatagramRoute(datagram: datagram[...])
            for inbound in session.open(datagram[...]) {
                guard case .dropped = inbound else {
                    Issue.record("garbage accepted: \(hexString(datagram))")
                    return
                }
            }
        }
        #expect(session.replayWindow == window)
        #expect(session.nextSequenceNumber == 1)
    }

    @Test func everyTruncationAndEveryBitFlipIsDropped() throws {
        for offersConnectionID in [true, false] {
            var (session, client) = try SessionTests.established(offersConnectionID: offersConnectionID)
            let record = try client.seal(hex("40021234b168ff") + Array("hello".utf8))
            for length in 0..<record.count {
                for inbound in session.open(record.prefix(length)) {
                    #expect(inbound.dropReason != nil)
                }
            }
            for index in record.indices {
                for bit in 0..<8 {
                    var flipped = record
                    flipped[index] ^= 1 << bit
                    for inbound in session.open(flipped[...]) {
                        #expect(inbound.dropReason != nil, "flip at byte \(index) bit \(bit) accepted")
                    }
                }
            }
            #expect(session.open(record[...]).first.isApplicationData)
        }
    }

    /// Records delivered in a random order with duplicates: each sequence number is delivered
    /// at most once, and never one more than 63 behind the newest.
    @Test func replayedAndReorderedRecords() throws {
        var (session, client) = try SessionTests.established()
        var records: [(UInt64, [UInt8])] = []
        for index in 0..<300 {
            let sequence = client.epoch1Sequence
            records.append((sequence, try client.seal([UInt8(index & 0xFF)])))
        }
        var generator = SplitMix64(seed: 0x2E91)
        var delivered = Set<UInt64>()
        var newest: UInt64 = 0
        for _ in 0..<3000 {
            let (sequence, record) = records[Int(generator.next() % UInt64(records.count))]
            let inbound = session.open(record[...]).first
            if inbound.isApplicationData {
                #expect(!delivered.contains(sequence))
                #expect(sequence + 64 > newest)
                delivered.insert(sequence)
                newest = max(newest, sequence)
            } else {
                #expect(delivered.contains(sequence) || sequence + 64 <= newest)
            }
        }
    }

    /// Many spoofed or garbage ClientHellos: each gets at most one small reply (a
    /// HelloVerifyRequest or an alert) and leaves nothing to store.
    @Test func clientHelloFloodKeepsNoState() {
        var generator = SplitMix64(seed: 0xF100D)
        let configuration = HandshakeHarness.configuration()
        let body = HandshakeHarness().client.clientHelloBody()
        for index in 0..<5000 {
            var hello = body
            hello.replaceSubrange(2..<34, with: generator.bytes(32))
            if index % 3 == 0 {
                hello[Int(generator.next() % UInt64(hello.count))] ^= UInt8(1 + generator.next() % 255)
            }
            let message = [0x01, 0, 0, UInt8(hello.count), 0, 0, 0, 0, 0, 0, 0, UInt8(hello.count)] + hello
            let datagram = hex("16fefd 0000 000000000000") + [0, UInt8(message.count)] + message
            let address = generator.bytes(6)
            var handshake = DTLSHandshake(configuration: configuration, clientAddress: address)
            let actions = handshake.receive(datagram[...], at: HandshakeHarness.origin, using: &generator)
            #expect(handshake.isIdle)
            #expect(actions.sent.count <= 1)
            #expect(actions.sent.allSatisfy { $0.count <= 13 + 12 + 35 })
        }
        for _ in 0..<5000 {
            var handshake = DTLSHandshake(configuration: configuration, clientAddress: [1, 2, 3, 4])
            let datagram = Self.garbage(&generator)
            _ = handshake.receive(datagram[...], at: HandshakeHarness.origin, using: &generator)
            #expect(handshake.isIdle)
        }
    }

    /// A handshake waiting for the client flight, fed truncated, bit-flipped and random input:
    /// it establishes only with the genuine flight, and buffers a bounded amount.
    @Test func damagedClientFlights() throws {
        var harness = HandshakeHarness()
        let verifyRequest = harness.serve(harness.client.clientHello()).sent[0]
        let hello = try #require(try harness.client.receive(verifyRequest))
        _ = harness.serve(hello)
        let waiting = harness.handshake
        let flight = try #require(try harness.client.receive(harness.serve(hello).sent[0]))
        let bound = HandshakeReassembler.maximumPendingMessages * (HandshakeReassembler.maximumMessageLength + 256)

        for length in 0..<flight.count {
            var handshake = waiting
            let actions = handshake.receive(flight.prefix(length), at: harness.now, using: &harness.generator)
            #expect(actions.session == nil)
            #expect(handshake.bufferedByteCount <= bound)
        }
        // Epoch-0 record headers (version, epoch, sequence number) are not authenticated in DTLS
        // 1.2; every other byte of the flight is, through the transcript or the record MAC.
        var unauthenticated = Set<Int>()
        var remaining = flight[...]
        while !remaining.isEmpty {
            let start = remaining.startIndex
            if try DTLSRecord.parse(from: &remaining).epoch == 0 {
                unauthenticated.formUnion(start + 1..<start + 11)
            }
        }
        var generator = SplitMix64(seed: 0xB17F)
        for index in flight.indices {
            var flipped = flight
            flipped[index] ^= 1 << (generator.next() % 8)
            var handshake = waiting
            let actions = handshake.receive(flipped[...], at: harness.now, using: &generator)
            if !unauthenticated.contains(index) {
                #expect(actions.session == nil, "flip at byte \(index) established a session")
            }
        }
        var handshake = waiting
        #expect(handshake.receive(flight[...], at: harness.now, using: &generator).session != nil)

        // Random fragments with plausible headers inside the message window.
        var flooded = waiting
        for _ in 0..<3000 {
            let length = Int(generator.next() % 4000)
            let offset = Int(generator.next() % 4000)
            let count = Int(generator.next() % 300)
            let sequence = UInt16(2 + generator.next() % 6)
            let type = UInt8([11, 15, 16, 20, 1][Int(generator.next() % 5)])
            var fragment: [UInt8] = [type, UInt8(length >> 16), UInt8((length >> 8) & 0xFF), UInt8(length & 0xFF)]
            fragment += [UInt8(sequence >> 8), UInt8(sequence & 0xFF)]
            fragment += [UInt8(offset >> 16), UInt8((offset >> 8) & 0xFF), UInt8(offset & 0xFF)]
            fragment += [0, UInt8(count >> 8), UInt8(count & 0xFF)] + generator.bytes(count)
            let datagram =
                hex("16fefd 0000 000000000009") + [UInt8(fragment.count >> 8), UInt8(fragment.count & 0xFF)] + fragment
            let actions = flooded.receive(datagram[...], at: harness.now, using: &generator)
            #expect(actions.session == nil)
            #expect(flooded.bufferedByteCount <= bound)
            if flooded.isIdle { flooded = waiting }
        }
        for _ in 0..<3000 {
            var copy = waiting
            let datagram = Self.garbage(&generator)
            _ = copy.receive(datagram[...], at: harness.now, using: &generator)
            #expect(copy.bufferedByteCount <= bound)
        }
    }
}
