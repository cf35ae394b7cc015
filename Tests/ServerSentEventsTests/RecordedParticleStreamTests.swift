import Foundation
import ServerSentEvents
import Testing

/// A product event stream in the original service's exact format: `:ok` and a
/// blank line, then per event an `event:` line, one `data:` line and a blank line; no `id:` or
/// `retry:` lines; a bare `\n` written as keepalive between events; product-stream fields.
private let recordedProductStream = Array(
    #"""
    :ok

    event: particle/device/updates/forced
    data: {"data":"false","ttl":60,"published_at":"2024-05-13T10:55:13.748Z","coreid":"e00fce68ece1d3d21a73dcc9","userid":"597771d1f92bae142dbb7559","version":1,"public":false,"productID":30301}


    event: spark/status
    data: {"data":"online","ttl":60,"published_at":"2024-05-13T10:55:14.102Z","coreid":"e00fce68ece1d3d21a73dcc9","userid":"597771d1f92bae142dbb7559","version":1,"public":false,"productID":30301}



    event: spark/flash/status
    data: {"data":"success ","ttl":60,"published_at":"2024-05-13T10:56:02.917Z","coreid":"e00fce68ece1d3d21a73dcc9","userid":"","version":2,"public":false,"productID":30301}

    event: hook-sent/temperature
    data: {"data":"","ttl":60,"published_at":"2024-05-13T10:56:05.001Z","coreid":"particle-internal","userid":"597771d1f92bae142dbb7559","version":0,"public":false,"productID":30301}


    """#.utf8
)

@Suite("ServerSentEventParser: recorded Particle stream")
struct RecordedParticleStreamTests {
    @Test("The recording is in the original's byte format")
    func recordingFormat() {
        let text = String(decoding: recordedProductStream, as: UTF8.self)
        #expect(text.hasPrefix(":ok\n\nevent: particle/device/updates/forced\ndata: {"))
        #expect(text.hasSuffix("}\n\n"))
        #expect(!recordedProductStream.contains(0x0D))
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(!lines.contains { $0.hasPrefix("id:") || $0.hasPrefix("retry:") })
        // Bare-newline keepalives: three blank lines in a row in one place, two in another.
        #expect(text.contains("}\n\n\n\nevent: spark/flash/status"))
        #expect(text.contains("}\n\n\nevent: spark/status"))
    }

    @Test("Parsing the recording gives the four events with no id and no retry")
    func parseRecording() throws {
        var parser = ServerSentEventParser()
        let events = parser.parse(recordedProductStream)
        #expect(
            events.map(\.event) == [
                "particle/device/updates/forced", "spark/status", "spark/flash/status", "hook-sent/temperature",
            ]
        )
        #expect(events.allSatisfy { $0.id == nil && $0.retry == nil })
        #expect(parser.lastEventID == nil)
        #expect(parser.retry == nil)
        #expect(parser.commentCount == 1)
        #expect(
            events.first?.data
                == #"{"data":"false","ttl":60,"published_at":"2024-05-13T10:55:13.748Z","coreid":"e00fce68ece1d3d21a73dcc9","userid":"597771d1f92bae142dbb7559","version":1,"public":false,"productID":30301}"#
        )

        // Every data line is one JSON object with the product-stream fields, as particle-api-js reads it.
        let objects = try events.map { event in
            try #require(
                JSONSerialization.jsonObject(with: Data(event.data.utf8)) as? [String: Any],
                "data of \(event.event ?? "?") is not a JSON object"
            )
        }
        for object in objects {
            #expect(
                Set(object.keys) == [
                    "data", "ttl", "published_at", "coreid", "userid", "version", "public", "productID",
                ]
            )
            #expect(object["productID"] as? Int == 30301)
            #expect(object["public"] as? Bool == false)
            #expect(object["ttl"] as? Int == 60)
        }
        #expect(objects.map { $0["data"] as? String } == ["false", "online", "success ", ""])
        #expect(objects.map { $0["coreid"] as? String }.last == "particle-internal")
    }

    @Test("The recording fed one byte at a time gives the same events")
    func parseRecordingByteByByte() {
        var whole = ServerSentEventParser()
        let expected = whole.parse(recordedProductStream)
        var parser = ServerSentEventParser()
        var events: [ServerSentEvent] = []
        for byte in recordedProductStream {
            events += parser.parse(CollectionOfOne(byte))
        }
        #expect(events.count == 4)
        #expect(events == expected)
        #expect(parser.commentCount == 1)
    }
}
