import AerosolModels
import Testing

@testable import Webhooks

@Suite("Request payloads")
struct RequestRendererTests {
    @Test func theSpecExampleIsReproducedByteForByte() throws {
        let request = try Fixtures.render(#"{"event":"demo","url":"http://host.com"}"#)
        #expect(request.method == "POST")
        #expect(request.url.text == "http://host.com/")
        #expect(request.url.pathAndQuery == "/")
        #expect(
            request.headers == [
                .init("User-Agent", "ParticleBot/1.1 (https://docs.particle.io/webhooks)"),
                .init("host", "host.com"),
                .init("content-type", "application/x-www-form-urlencoded"),
            ]
        )
        let body = "event=demo&data=mydata&published_at=2017-02-01T21%3A08%3A05.763Z&coreid=3f002b000000000000000000"
        #expect(request.body == body)
        #expect(request.body?.utf8.count == 96)
    }

    @Test func getSendsTheDefaultsInTheQueryString() throws {
        let request = try Fixtures.render(
            #"{"event":"demo","url":"http://host.com:8080/path?key=1","requestType":"GET","query":{"extra":"{{{PARTICLE_EVENT_NAME}}}"}}"#
        )
        #expect(request.method == "GET")
        #expect(request.body == nil)
        #expect(request.header("content-type") == nil)
        #expect(request.header("host") == "host.com:8080")
        #expect(
            request.url.pathAndQuery
                == "/path?key=1&event=demo&data=mydata&published_at=2017-02-01T21%3A08%3A05.763Z&coreid=3f002b000000000000000000&extra=demo"
        )
    }

    @Test func jsonGetsTheDefaultsMergedAndJSONHeaders() throws {
        let request = try Fixtures.render(
            #"{"event":"demo","url":"https://host.com/in","json":{"value":"{{{PARTICLE_EVENT_VALUE}}}","event":"override","n":5}}"#
        )
        #expect(request.header("content-type") == "application/json")
        #expect(request.header("accept") == "application/json")
        #expect(request.url.isSecure)
        #expect(
            request.body
                == #"{"event":"override","data":"mydata","published_at":"2017-02-01T21:08:05.763Z","coreid":"3f002b000000000000000000","value":"mydata","n":5}"#
        )
    }

    @Test func noDefaultsLeavesThemOut() throws {
        let json = try Fixtures.render(
            #"{"event":"demo","url":"http://host.com","noDefaults":true,"json":{"v":"{{{PARTICLE_EVENT_VALUE}}}"}}"#
        )
        #expect(json.body == #"{"v":"mydata"}"#)
        let bare = try Fixtures.render(#"{"event":"demo","url":"http://host.com","noDefaults":true}"#)
        #expect(bare.body == nil)
        #expect(bare.header("content-type") == nil)
    }

    @Test func formFieldsJoinTheDefaults() throws {
        let request = try Fixtures.render(
            #"{"event":"demo","url":"http://host.com","form":{"data":"{{{PARTICLE_EVENT_VALUE}}}!","extra":"a b&c"}}"#
        )
        #expect(request.header("content-type") == "application/x-www-form-urlencoded")
        #expect(
            request.body
                == "event=demo&data=mydata!&published_at=2017-02-01T21%3A08%3A05.763Z&coreid=3f002b000000000000000000&extra=a%20b%26c"
        )
        let get = try Fixtures.render(
            #"{"event":"demo","url":"http://host.com","requestType":"GET","noDefaults":true,"form":{"a":"1"}}"#
        )
        #expect(get.url.pathAndQuery == "/?a=1")
        #expect(get.body == nil)
    }

    @Test func aRawBodyGetsNoDefaultsAndNoContentType() throws {
        let request = try Fixtures.render(
            #"{"event":"demo","url":"http://host.com","requestType":"PUT","body":"{{{PARTICLE_EVENT_NAME}}}={{{PARTICLE_EVENT_VALUE}}}"}"#
        )
        #expect(request.method == "PUT")
        #expect(request.body == "demo=mydata")
        #expect(request.header("content-type") == nil)
    }

    @Test func queryOnPostLeavesTheDefaultsInTheBody() throws {
        let request = try Fixtures.render(#"{"event":"demo","url":"http://host.com/x","query":{"k":"v"}}"#)
        #expect(request.url.pathAndQuery == "/x?k=v")
        #expect(request.body?.hasPrefix("event=demo&data=mydata") == true)
    }

    @Test func productWebhooksAddTheProductFields() throws {
        let event = Fixtures.event(productID: 42)
        let request = try Fixtures.render(#"{"event":"demo","url":"http://host.com"}"#, event: event, product: true)
        #expect(
            request.body
                == "event=demo&data=mydata&published_at=2017-02-01T21%3A08%3A05.763Z&coreid=3f002b000000000000000000&userid=5b8a4dabec3a82be794912e9&fw_version=3&productID=42"
        )
    }

    @Test func headersAndBasicAuthAreRendered() throws {
        let request = try Fixtures.render(
            #"{"event":"demo","url":"http://host.com","auth":{"username":"user"},"headers":{"X-Device":"{{{PARTICLE_DEVICE_ID}}}","Content-Type":"text/plain"}}"#,
            password: "p@ss"
        )
        #expect(request.header("Authorization") == "Basic dXNlcjpwQHNz")
        #expect(request.header("X-Device") == "3f002b000000000000000000")
        // A header of the webhook replaces the automatic one, in place.
        #expect(request.headers[2] == .init("Content-Type", "text/plain"))
    }

    @Test func theStringFormOfJSONAllowsBareNumbers() throws {
        let event = Fixtures.event(data: #"{"temp":21.5,"unit":"C"}"#)
        let request = try Fixtures.render(
            #"{"event":"demo","url":"http://host.com","noDefaults":true,"json":"{\"t\": {{temp}}, \"u\": \"{{unit}}\"}"}"#,
            event: event
        )
        #expect(request.body == #"{"t": 21.5, "u": "C"}"#)
        let merged = try Fixtures.render(
            #"{"event":"demo","url":"http://host.com","json":"{\"t\": {{temp}}}"}"#,
            event: event
        )
        #expect(merged.body?.hasSuffix(#""coreid":"3f002b000000000000000000","t":21.5}"#) == true)
    }

    @Test func theURLIsTemplatedAndEncoded() throws {
        let event = Fixtures.event(data: #"{"bin":"a b"}"#)
        let request = try Fixtures.render(#"{"event":"demo","url":"http://host.com/{{{bin}}}/é"}"#, event: event)
        #expect(request.url.pathAndQuery == "/a%20b/%C3%A9")
    }

    @Test func aRenderedURLThatIsNotHTTPIsRefused() throws {
        let event = Fixtures.event(data: #"{"u":"ftp://x"}"#)
        #expect(throws: WebhookError.self) {
            try Fixtures.render(#"{"event":"demo","url":"{{{u}}}"}"#, event: event)
        }
    }
}
