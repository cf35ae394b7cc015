import AerosolModels
import Testing

@testable import Webhooks

@Suite("Response events")
struct ResponseEventsTests {
    private let audience = ResponseEvents.Audience(userID: "u1", productID: nil)

    @Test func responsesAreCutIn512ByteParts() {
        let text = String(repeating: "a", count: 1300)
        #expect(ResponseEvents.chunks(text).map(\.utf8.count) == [512, 512, 276])
        #expect(ResponseEvents.chunks(String(repeating: "b", count: 1024)).map(\.utf8.count) == [512, 512])
        #expect(ResponseEvents.chunks("").isEmpty)
        #expect(ResponseEvents.chunks("ok") == ["ok"])
    }

    @Test func atMost100KBArePublished() {
        let parts = ResponseEvents.chunks(String(repeating: "x", count: 150_000))
        #expect(parts.count == 200)
        #expect(parts.allSatisfy { $0.utf8.count == 512 })
        #expect(parts.reduce(0) { $0 + $1.utf8.count } == 102_400)
    }

    @Test func partsEndOnCharacterBoundaries() {
        let text = String(repeating: "a", count: 511) + "é" + "z"
        let parts = ResponseEvents.chunks(text)
        #expect(parts.map(\.utf8.count) == [511, 3])
        #expect(parts.joined() == text)
    }

    @Test func theEventsAreNamedAfterTheTriggeringEvent() throws {
        let hook = try Fixtures.definition(#"{"event":"my-hooks","url":"http://h.com"}"#)
        let event = Fixtures.event("my-hooks/get_weather")
        let sent = ResponseEvents.sent(for: event, audience: audience)
        #expect(sent.name == "hook-sent/my-hooks/get_weather")
        #expect(sent.data == "undefined")
        #expect(sent.coreID == "particle-internal")
        #expect(sent.userID == "u1")
        let body = Array(String(repeating: "r", count: 600).utf8)
        let responses = ResponseEvents.responses(
            body: body,
            definition: hook,
            event: event,
            productHook: false,
            audience: audience
        )
        #expect(
            responses.map(\.name) == ["hook-response/my-hooks/get_weather/0", "hook-response/my-hooks/get_weather/1"]
        )
        #expect(responses.allSatisfy { $0.coreID == "particle-internal" })
        let error = ResponseEvents.error(
            "error status 404 from h.com",
            definition: hook,
            event: event,
            productHook: false,
            audience: audience
        )
        #expect(error.name == "hook-error/my-hooks/get_weather/0")
        #expect(error.data == "error status 404 from h.com")
    }

    @Test func topicsAndTheResponseTemplateAreHonoured() throws {
        let hook = try Fixtures.definition(
            #"{"event":"demo","url":"http://h.com","responseTopic":"{{PARTICLE_DEVICE_ID}}/weather","errorResponseTopic":"oops/{{PARTICLE_EVENT_NAME}}","responseTemplate":"{{main.temp}}&{{{name}}}"}"#
        )
        let event = Fixtures.event()
        let responses = ResponseEvents.responses(
            body: Array(#"{"main":{"temp":12.5},"name":"Zürich & co"}"#.utf8),
            definition: hook,
            event: event,
            productHook: false,
            audience: audience
        )
        #expect(responses.map(\.name) == ["3f002b000000000000000000/weather/0"])
        #expect(responses.map(\.data) == ["12.5&Zürich & co"])
        let error = ResponseEvents.error("x", definition: hook, event: event, productHook: false, audience: audience)
        #expect(error.name == "oops/demo/0")
    }

    @Test func productHooksPrefixTheDeviceID() throws {
        let hook = try Fixtures.definition(#"{"event":"demo","url":"http://h.com"}"#, product: true)
        let responses = ResponseEvents.responses(
            body: Array("ok".utf8),
            definition: hook,
            event: Fixtures.event(productID: 42),
            productHook: true,
            audience: .init(userID: nil, productID: 42)
        )
        #expect(responses.map(\.name) == ["3f002b000000000000000000/hook-response/demo/0"])
        #expect(responses.first?.productID == 42)
    }
}
