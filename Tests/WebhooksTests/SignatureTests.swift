import Foundation
import Testing

@testable import Webhooks

@Suite("Signatures")
struct SignatureTests {
    private let secret = "whsec_0123456789abcdef"
    private let body = Array("event=demo&data=mydata".utf8)

    @Test func theHeaderIsHMACSHA256OfTimestampDotBody() {
        // Computed independently: python3 -c 'import hmac,hashlib;
        // print(hmac.new(b"whsec_0123456789abcdef", b"1700000000.event=demo&data=mydata", hashlib.sha256).hexdigest())'
        #expect(
            WebhookSignature.value(secret: secret, timestamp: 1_700_000_000, body: body)
                == "t=1700000000,v1=e9267d8b5b4938b839764622a70ec6546692ac6a5efeec568d49ead52cf28df2"
        )
    }

    @Test func receiversCanVerifyIt() {
        let now = Date(timeIntervalSince1970: 1_700_000_100)
        let header = WebhookSignature.value(secret: secret, timestamp: 1_700_000_000, body: body)
        #expect(WebhookSignature.verify(header, secret: secret, body: body, now: now))
        #expect(!WebhookSignature.verify(header, secret: "another-secret-value", body: body, now: now))
        #expect(!WebhookSignature.verify(header, secret: secret, body: Array("event=demo&data=forged".utf8), now: now))
        #expect(!WebhookSignature.verify(header, secret: secret, body: body, now: now.addingTimeInterval(3600)))
        #expect(!WebhookSignature.verify("t=1700000000", secret: secret, body: body, now: now))
    }
}
