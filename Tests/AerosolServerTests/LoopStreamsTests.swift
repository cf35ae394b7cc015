import AerosolModels
import Foundation
import Logging
import NIOCore
import NIOEmbedded
import Testing

@testable import AerosolServer

/// The fan-out of one event loop, without sockets: streams in `EmbeddedChannel`s on an
/// `EmbeddedEventLoop`, time moved with `advanceTime`, the bytes read back as written.
@Suite("Event streams of one event loop")
struct LoopStreamsTests {
    struct Fixture {
        let loop = EmbeddedEventLoop()
        let clock = ManualClock()
        let streams: LoopStreams

        init(limits: StreamLimits = StreamLimits()) {
            var logger = Logger(label: "loop-streams-test")
            logger.logLevel = .critical
            streams = LoopStreams(
                eventLoop: loop,
                limits: limits,
                clock: clock,
                logger: logger,
                metrics: StreamMetrics(),
                onDrained: {},
                onCountChange: { _ in }
            )
        }

        /// A pushed stream with `filter` on its own embedded channel, after its `:ok`.
        func open(
            _ filter: EventFilter,
            tokenHash: String = "t",
            expiresAt: Date? = nil,
            limits: StreamLimits = StreamLimits(),
            replaying: Bool = false
        ) throws -> (EmbeddedChannel, EventStreamHandler) {
            let channel = EmbeddedChannel(loop: loop)
            let handler = EventStreamHandler(
                filter: filter,
                tokenHash: tokenHash,
                expiresAt: expiresAt,
                limits: limits,
                mode: .pushed,
                replaying: replaying,
                logger: Logger(label: "test")
            )
            try channel.pipeline.syncOperations.addHandler(handler)
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
            handler.start(in: streams)
            #expect(try Self.written(channel) == "5\r\n:ok\n\n\r\n")
            return (channel, handler)
        }

        /// Everything written to `channel` since last asked, as text.
        static func written(_ channel: EmbeddedChannel) throws -> String {
            var text = ""
            while let buffer = try channel.readOutbound(as: ByteBuffer.self) { text += String(buffer: buffer) }
            return text
        }

        func event(_ id: Int64, _ name: String, user: String? = "u1", product: Int? = nil) -> EncodedEvent {
            EncodedEvent(
                Event(
                    id: id,
                    name: name,
                    data: "d\(id)",
                    publishedAt: Date(timeIntervalSince1970: 1_700_000_000),
                    coreID: "api",
                    userID: user,
                    productID: product
                )
            )
        }
    }

    static func frame(_ id: Int64, _ name: String, user: String = "u1", product: Int? = nil) -> String {
        var json = #"{"data":"d\#(id)","ttl":60,"published_at":"2023-11-14T22:13:20.000Z","coreid":"api""#
        if let product { json += #","userid":"\#(user)","version":0,"public":false,"productID":\#(product)"# }
        json += "}"
        let body = "event: \(name)\ndata: \(json)\nid: \(id)\n\n"
        return String(body.utf8.count, radix: 16) + "\r\n" + body + "\r\n"
    }

    @Test func eachStreamGetsItsScopeAndPrefixOnceInOrder() throws {
        let fixture = Fixture()
        let (all, _) = try fixture.open(EventFilter(scope: .user("u1")))
        let (temps, _) = try fixture.open(EventFilter(scope: .user("u1"), prefix: "temp"))
        let (other, _) = try fixture.open(EventFilter(scope: .user("u2")))
        let (product, _) = try fixture.open(EventFilter(scope: .product(7)))
        fixture.streams.enqueue([fixture.event(1, "temperature"), fixture.event(2, "humidity")])
        fixture.streams.enqueue([fixture.event(3, "temp/basement", product: 7)])
        fixture.loop.run()
        #expect(
            try Fixture.written(all)
                == Self.frame(1, "temperature") + Self.frame(2, "humidity") + Self.frame(3, "temp/basement")
        )
        #expect(try Fixture.written(temps) == Self.frame(1, "temperature") + Self.frame(3, "temp/basement"))
        #expect(try Fixture.written(other) == "")
        #expect(try Fixture.written(product) == Self.frame(3, "temp/basement", product: 7))
        #expect(fixture.streams.backlog == 0)
    }

    @Test func aKeepaliveAfterEightSecondsOfSilenceAndNotBefore() throws {
        let fixture = Fixture()
        let (channel, _) = try fixture.open(EventFilter(scope: .user("u1")))
        fixture.loop.advanceTime(by: .seconds(7))
        #expect(try Fixture.written(channel) == "")
        fixture.loop.advanceTime(by: .seconds(1))
        #expect(try Fixture.written(channel) == "b\r\n:keepalive\n\r\n")
        // Output resets the silence.
        fixture.loop.advanceTime(by: .seconds(5))
        fixture.streams.enqueue([fixture.event(1, "temperature")])
        fixture.loop.run()
        #expect(try Fixture.written(channel) == Self.frame(1, "temperature"))
        fixture.loop.advanceTime(by: .seconds(7))
        #expect(try Fixture.written(channel) == "")
        fixture.loop.advanceTime(by: .seconds(1))
        #expect(try Fixture.written(channel) == "b\r\n:keepalive\n\r\n")
    }

    @Test func aStreamWhoseTokenExpiresIsClosedWithTheReason() throws {
        let fixture = Fixture()
        let (channel, _) = try fixture.open(
            EventFilter(scope: .user("u1")),
            expiresAt: fixture.clock.now.addingTimeInterval(90)
        )
        fixture.clock.advance(by: .seconds(89))
        fixture.loop.advanceTime(by: .seconds(1))
        #expect(channel.isActive)
        fixture.clock.advance(by: .seconds(1))
        fixture.loop.advanceTime(by: .seconds(1))
        #expect(try Fixture.written(channel) == "10\r\n:closed expired\n\r\n0\r\n\r\n")
        #expect(!channel.isActive)
    }

    @Test func aReaderThatCannotKeepUpIsClosedAsTooSlowWithoutHoldingUpTheOthers() throws {
        var limits = StreamLimits()
        limits.maxQueuedEvents = 3
        let fixture = Fixture(limits: limits)
        let (slow, _) = try fixture.open(EventFilter(scope: .user("u1")), limits: limits)
        let (fast, _) = try fixture.open(EventFilter(scope: .user("u1")), limits: limits)
        slow.isWritable = false
        fixture.streams.enqueue((1...3).map { fixture.event($0, "e\($0)") })
        fixture.loop.run()
        #expect(try Fixture.written(slow) == "")
        // Writable again: the three held events follow, in order.
        slow.isWritable = true
        slow.pipeline.fireChannelWritabilityChanged()
        #expect(try Fixture.written(slow) == Self.frame(1, "e1") + Self.frame(2, "e2") + Self.frame(3, "e3"))
        slow.isWritable = false
        fixture.streams.enqueue((4...7).map { fixture.event($0, "e\($0)") })
        fixture.loop.run()
        #expect(try Fixture.written(slow) == "11\r\n:closed overflow\n\r\n0\r\n\r\n")
        #expect(
            try Fixture.written(fast)
                == (1...7).map { Self.frame(Int64($0), "e\($0)") }.joined()
        )
    }

    @Test func liveEventsWaitForTheReplayAndThoseItCoveredAreSkipped() throws {
        let fixture = Fixture()
        let (channel, handler) = try fixture.open(EventFilter(scope: .user("u1")), replaying: true)
        fixture.streams.enqueue([fixture.event(5, "during"), fixture.event(6, "after")])
        fixture.loop.run()
        #expect(try Fixture.written(channel) == "")
        let replayed = fixture.loop.makePromise(of: Void.self)
        let page = EventFrame.encode(
            Event(
                id: 5,
                name: "during",
                data: "d5",
                publishedAt: Date(timeIntervalSince1970: 1_700_000_000),
                coreID: "api",
                userID: "u1",
                productID: nil
            ),
            productFormat: false
        )
        handler.writeReplay(page, promise: replayed)
        handler.goLive(after: 5)
        #expect(try Fixture.written(channel) == Self.frame(5, "during") + Self.frame(6, "after"))
    }

    @Test func revokedStreamsEndAndTheOthersGoOn() throws {
        let fixture = Fixture()
        let (revoked, _) = try fixture.open(EventFilter(scope: .user("u1")), tokenHash: "gone")
        let (kept, _) = try fixture.open(EventFilter(scope: .user("u1")), tokenHash: "kept")
        fixture.streams.end(.revoked) { $0.tokenHash == "gone" }
        fixture.loop.run()
        #expect(try Fixture.written(revoked) == "10\r\n:closed revoked\n\r\n0\r\n\r\n")
        fixture.streams.enqueue([fixture.event(1, "temperature")])
        fixture.loop.run()
        #expect(try Fixture.written(kept) == Self.frame(1, "temperature"))
        #expect(try Fixture.written(revoked) == "")
    }

    @Test func aLoopThatStaysCongestedClosesItsStreamsAsTooSlow() throws {
        var limits = StreamLimits()
        limits.loopBacklog = 2
        let fixture = Fixture(limits: limits)
        let (channel, _) = try fixture.open(EventFilter(scope: .user("u1")), limits: limits)
        // Events queued that the loop has not got to yet (`tick()` is called directly, as if
        // the loop's delivery were stuck behind other work): the backlog stays above the limit.
        fixture.streams.enqueue((1...3).map { fixture.event($0, "e\($0)") })
        #expect(fixture.streams.backlog == 3)
        for _ in 1...4 { fixture.streams.tick() }
        #expect(channel.isActive)
        #expect(try Fixture.written(channel) == "")
        fixture.streams.tick()
        #expect(fixture.streams.backlog == 0)
        #expect(try Fixture.written(channel).hasSuffix("11\r\n:closed overflow\n\r\n0\r\n\r\n"))
    }
}
