import AerosolModels
import Testing

@testable import Webhooks

@Suite("Webhook definitions")
struct DefinitionTests {
    @Test func invalidDefinitionsAreRefusedWithClearMessages() {
        let cases: [(String, String)] = [
            (#"{"url":"http://h.com"}"#, "event is required: the event name prefix that triggers the webhook"),
            (#"{"event":"e"}"#, "url is required: the address to call"),
            (#"{"event":"e","url":"ftp://h.com/x"}"#, #"url must be an http:// or https:// URL (got "ftp://h.com/x")"#),
            (#"{"event":"e","url":"not a url"}"#, #"url must be an http:// or https:// URL (got "not a url")"#),
            (
                #"{"event":"e","url":"http://h.com","requestType":"FETCH"}"#,
                "requestType must be GET, POST, PUT, DELETE or PATCH (got FETCH)"
            ),
            (
                #"{"event":"e","url":"http://h.com","json":{},"form":{}}"#,
                "json, form and body are mutually exclusive: give at most one (got json and form)"
            ),
            (#"{"event":"e","url":"http://h.com","json":5}"#, "json must be an object or a string template"),
            (
                #"{"event":"e","url":"http://h.com","headers":{"Bad Name":"x"}}"#,
                #"headers: "Bad Name" is not a valid header name"#
            ),
            (
                #"{"event":"e","url":"http://h.com","headers":{"Host":"x"}}"#,
                "headers: Host is set by the server and cannot be given"
            ),
            (
                #"{"event":"e","url":"http://h.com","deviceID":"xyz"}"#,
                "deviceID must be a device ID (24 hex characters), got xyz"
            ),
            (#"{"event":"e","url":"http://h.com","secret":"short"}"#, "secret must have 16 to 256 characters"),
            (#"{"event":"e","url":"http://h.com","rateLimit":-1}"#, "rateLimit must be an integer from 0 to 60000"),
            (#"{"event":"e","url":"http://h.com","noDefaults":"maybe"}"#, "noDefaults must be true or false"),
            (
                #"{"event":"e","url":"http://h.com","auth":{"password":"x"}}"#,
                #"auth must have a username (and a password): {"username","password"}"#
            ),
        ]
        for (json, message) in cases {
            #expect(throws: WebhookError.invalid(message), "\(json)") { try Fixtures.definition(json) }
        }
        #expect(throws: WebhookError.invalid("deviceID applies to sandbox webhooks only")) {
            try Fixtures.definition(
                #"{"event":"e","url":"http://h.com","deviceID":"0123456789abcdef01234567"}"#,
                product: true
            )
        }
    }

    @Test func everyFieldIsKeptAndStoredWithoutSecrets() throws {
        let json = #"""
            {"eventName":"temp","url":"https://h.com/{{{PARTICLE_DEVICE_ID}}}","requestType":"put","deviceid":"0123456789ABCDEF01234567",
             "json":{"v":"{{{PARTICLE_EVENT_VALUE}}}"},"query":{"q":"1"},"headers":{"X-A":"b"},
             "auth":{"username":"u","password":"pw"},"responseTemplate":"{{x}}","responseTopic":"rt","errorResponseTopic":"et",
             "noDefaults":true,"rejectUnauthorized":false,"name":"Mine","rateLimit":0,"secret":"0123456789abcdef",
             "mydevices":true,"access_token":"ignored"}
            """#
        let (definition, secrets) = try Fixtures.parse(json)
        #expect(definition.event == "temp")
        #expect(definition.requestType == "PUT")
        #expect(definition.deviceID == "0123456789abcdef01234567")
        #expect(definition.rateLimit == 0)
        #expect(!definition.rejectUnauthorized)
        #expect(secrets == .init(password: "pw", secret: .set("0123456789abcdef")))
        let stored = definition.storedText
        #expect(!stored.contains("pw"))
        #expect(!stored.contains("0123456789abcdef\""))
        #expect(
            stored
                == #"{"event":"temp","url":"https://h.com/{{{PARTICLE_DEVICE_ID}}}","requestType":"PUT","deviceID":"0123456789abcdef01234567","name":"Mine","json":{"v":"{{{PARTICLE_EVENT_VALUE}}}"},"query":{"q":"1"},"headers":{"X-A":"b"},"auth":{"username":"u"},"responseTemplate":"{{x}}","responseTopic":"rt","errorResponseTopic":"et","noDefaults":true,"rejectUnauthorized":false,"disabled":false,"rateLimit":0}"#
        )
        let reread = try WebhookDefinition(stored: stored, product: false)
        #expect(reread.storedText == stored)
        #expect(definition.fixedTarget?.host == "h.com")
    }

    @Test func theFixedTargetIsKnownOnlyWhenTheHostIsNotTemplated() throws {
        #expect(
            try Fixtures.definition(#"{"event":"e","url":"http://10.0.0.1:81/{{x}}"}"#).fixedTarget?.host == "10.0.0.1"
        )
        #expect(try Fixtures.definition(#"{"event":"e","url":"http://{{host}}/x"}"#).fixedTarget == nil)
        #expect(try Fixtures.definition(#"{"event":"e","url":"{{{u}}}"}"#).fixedTarget == nil)
    }

    @Test func matchingFollowsThePrefixRuleScopeAndDevice() throws {
        let record = StoredWebhookFixture.record(#"{"event":"temp","url":"http://h.com"}"#, owner: "u1")
        let hook = try Webhook(record)
        func event(_ name: String, user: String? = "u1", core: String = "0123456789abcdef01234567", id: Int64 = 10)
            -> Event
        {
            Event(
                id: id,
                name: name,
                data: nil,
                publishedAt: Fixtures.start,
                coreID: core,
                userID: user,
                productID: nil
            )
        }
        #expect(hook.matches(event("temperature")))
        #expect(hook.matches(event("temp/basement")))
        #expect(!hook.matches(event("Temp")))
        #expect(!hook.matches(event("high_temp")))
        #expect(!hook.matches(event("temp", user: "u2")))
        #expect(!hook.matches(event("temp", id: 5)))
        #expect(!hook.matches(event("temp", core: "particle-internal")))
        let hookOnly = try Webhook(StoredWebhookFixture.record(#"{"event":"hook","url":"http://h.com"}"#, owner: "u1"))
        #expect(!hookOnly.matches(event("hook-response/temp/0")))
        let device = try Webhook(
            StoredWebhookFixture.record(
                #"{"event":"temp","url":"http://h.com","deviceID":"0123456789abcdef01234567"}"#,
                owner: "u1"
            )
        )
        #expect(device.matches(event("temp")))
        #expect(!device.matches(event("temp", core: "aaaaaaaaaaaaaaaaaaaaaaaa")))
    }
}
