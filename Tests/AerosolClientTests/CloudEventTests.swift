import AerosolClient
import ServerSentEvents
import Testing

@Suite("Reading the original's wire format")
struct CloudEventTests {
    /// Bytes as the original cloud sends them: no `id:` lines, bare-newline keepalives, a
    /// product stream's extra fields, and a block that is not a Particle event.
    static let recorded = """
        :ok

        event: temperature
        data: {"data":"25.34","ttl":60,"published_at":"2015-07-18T00:12:18.174Z","coreid":"0123456789abcdef01234567"}



        event: particle/device/updates/forced
        data: {"data":"false","ttl":"60","published_at":"2024-05-13T10:55:13.748Z","coreid":"e00fce68ece1d3d21a73dcc9","userid":"597771d1f92bae142dbb7559","version":1,"public":false,"productID":30301}

        data: not json and no event line


        """

    @Test func parsesEventsAtEveryByteSplit() {
        let bytes = Array(Self.recorded.utf8)
        for split in 0...bytes.count {
            var parser = ServerSentEventParser()
            var events: [CloudEvent] = []
            for chunk in [bytes[..<split], bytes[split...]] {
                parser.parse(chunk) { if let event = CloudEvent($0) { events.append(event) } }
            }
            #expect(events.count == 2, "split at \(split)")
            guard events.count == 2 else { return }
            #expect(
                events[0]
                    == CloudEvent(
                        name: "temperature",
                        data: "25.34",
                        ttl: 60,
                        publishedAt: "2015-07-18T00:12:18.174Z",
                        coreID: "0123456789abcdef01234567"
                    )
            )
            #expect(events[1].name == "particle/device/updates/forced")
            #expect(events[1].ttl == 60)
            #expect(events[1].productID == 30301)
            #expect(events[1].userID == "597771d1f92bae142dbb7559")
            #expect(events[1].id == nil)
        }
    }

    @Test func printsTheCLIShape() {
        let event = CloudEvent(name: "t", data: "1", publishedAt: "2015-07-18T00:12:18.174Z", coreID: "api", id: "7")
        #expect(
            event.json.serialized
                == #"{"name":"t","data":"1","ttl":60,"published_at":"2015-07-18T00:12:18.174Z","coreid":"api","id":"7"}"#
        )
    }
}
