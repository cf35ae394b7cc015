import Foundation
import Testing

@testable import Webhooks

@Suite("Targets: URLs and address safety")
struct TargetTests {
    @Test func privateAndLocalAddressesAreRecognised() throws {
        let refused = [
            "127.0.0.1", "127.8.9.10", "0.0.0.0", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1",
            "169.254.169.254", "100.64.0.1", "198.18.0.1", "224.0.0.1", "255.255.255.255", "::1", "::",
            "fe80::1", "fc00::1", "fd12:3456::1", "ff02::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1",
            "64:ff9b::a00:1",
        ]
        for text in refused {
            let address = try #require(TargetResolver.literal(text), "\(text)")
            #expect(AddressPolicy.restriction(of: address.bytes) != nil, "\(text)")
        }
        for text in ["8.8.8.8", "172.32.0.1", "100.128.0.1", "1.1.1.1", "2001:4860:4860::8888", "::ffff:8.8.8.8"] {
            let address = try #require(TargetResolver.literal(text), "\(text)")
            #expect(AddressPolicy.restriction(of: address.bytes) == nil, "\(text)")
        }
        #expect(TargetResolver.literal("example.com") == nil)
    }

    @Test func theResolverRefusesPrivateTargetsUnlessAllowed() async throws {
        let strict = TargetResolver(allowPrivate: false)
        await #expect(throws: WebhookError.self) { try await strict.resolve("127.0.0.1") }
        await #expect(throws: WebhookError.self) { try await strict.resolve("localhost") }
        do {
            _ = try await strict.resolve("10.0.0.8")
            Issue.record("10.0.0.8 was allowed")
        } catch let error as WebhookError {
            #expect(error.isRefused)
            #expect(error.message.contains("10.0.0.8 is a private address"))
            #expect(error.message.contains("--allow-private-webhooks"))
        }
        let lenient = TargetResolver(allowPrivate: true)
        #expect(try await lenient.resolve("127.0.0.1").map(\.text) == ["127.0.0.1"])
    }

    @Test func urlsAreSplitAndChecked() throws {
        let url = try TargetURL.parse("HTTPS://Example.COM:8443/a b?q=1#frag")
        #expect(url.scheme == "https")
        #expect(url.host == "example.com")
        #expect(url.port == 8443)
        #expect(url.hostHeader == "example.com:8443")
        #expect(url.pathAndQuery == "/a%20b?q=1")
        let v6 = try TargetURL.parse("http://[::1]:8080")
        #expect(v6.host == "::1")
        #expect(v6.hostHeader == "[::1]:8080")
        #expect(v6.pathAndQuery == "/")
        #expect(try TargetURL.parse("http://h.com").port == 80)
        for bad in ["ftp://h.com/", "h.com/path", "http://", "http://user:pw@h.com/", "http://h.com:99999/"] {
            #expect(throws: WebhookError.self, "\(bad)") { try TargetURL.parse(bad) }
        }
    }
}
