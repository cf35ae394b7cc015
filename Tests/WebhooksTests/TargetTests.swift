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
        for text in Self.publicAddresses {
            let address = try #require(TargetResolver.literal(text), "\(text)")
            #expect(AddressPolicy.restriction(of: address.bytes) == nil, "\(text)")
        }
        #expect(TargetResolver.literal("example.com") == nil)
    }

    /// Addresses a webhook may call.
    static let publicAddresses = [
        "8.8.8.8", "172.32.0.1", "100.128.0.1", "1.1.1.1", "192.0.3.1", "198.51.101.1", "203.0.114.1",
        "2001:4860:4860::8888", "2a00:1450:4001::1", "2600::1", "2001:200::1", "::ffff:8.8.8.8",
        "::ffff:0808:0808", "64:ff9b::808:808", "2002:808:808::1", "2a01:4f8::200:5efe:808:808",
    ]

    /// Every special range a webhook must not call, one address (or more) of each, with the
    /// reason given.
    @Test(arguments: [
        // IPv4-mapped ::ffff:0:0/96, in every spelling, judged by the IPv4 address.
        ("::ffff:127.0.0.1", "loopback"), ("::ffff:7f00:1", "loopback"), ("0:0:0:0:0:ffff:a00:1", "private"),
        ("::ffff:169.254.169.254", "link-local"), ("::ffff:192.168.0.1", "private"), ("::ffff:0.0.0.0", "unspecified"),
        // IPv4-translated ::ffff:0:0:0/96 (RFC 2765) and the deprecated IPv4-compatible ::/96.
        ("::ffff:0:127.0.0.1", "IPv4-translated"), ("::ffff:0:a00:1", "IPv4-translated"),
        ("::ffff:0:808:808", "IPv4-translated"), ("::127.0.0.1", "IPv4-compatible"), ("::10.0.0.1", "IPv4-compatible"),
        ("::8.8.8.8", "IPv4-compatible"),
        // NAT64, well-known prefix by its IPv4 address, and the local-use prefix.
        ("64:ff9b::127.0.0.1", "loopback"), ("64:ff9b::10.1.2.3", "private"), ("64:ff9b:1::808:808", "reserved"),
        // 6to4 2002::/16 carrying a refused IPv4 address.
        ("2002:7f00:1::1", "6to4 address of 127.0.0.1, a loopback"), ("2002:a00:1::", "private"),
        ("2002:c0a8:101::1", "private"), ("2002:a9fe:a9fe::1", "link-local"), ("2002::1", "unspecified"),
        // Teredo 2001::/32, and the rest of the IETF protocol assignments 2001::/23.
        ("2001::1", "Teredo"), ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "Teredo"), ("2001:2::1", "reserved"),
        ("2001:10::1", "reserved"), ("2001:20::1", "reserved"), ("2001:1ff::1", "reserved"),
        // ISATAP interface identifiers carrying a refused IPv4 address.
        ("2a01:4f8::5efe:a00:1", "ISATAP address of 10.0.0.1"), ("2a01:4f8::200:5efe:7f00:1", "loopback"),
        // Site-local, unique local, link-local, multicast, discard-only, documentation, SRv6.
        ("fec0::1", "site-local"), ("feff::1", "site-local"), ("fc00::1", "unique local"), ("fd00::1", "unique local"),
        ("fe80::1", "link-local"), ("febf::1", "link-local"), ("ff02::1", "multicast"), ("ff0e::1", "multicast"),
        ("100::1", "reserved"), ("2001:db8::1", "documentation"), ("3fff::1", "documentation"),
        ("3fff:fff::1", "documentation"), ("5f00::1", "segment routing"),
        // Nothing outside global unicast 2000::/3 is public.
        ("4000::1", "reserved"), ("1::1", "reserved"), ("e000::1", "reserved"),
        // IPv4: documentation, 6to4 relay anycast, IETF assignments, and the classics.
        ("192.0.2.1", "documentation"), ("198.51.100.7", "documentation"), ("203.0.113.9", "documentation"),
        ("192.88.99.1", "reserved"), ("192.0.0.8", "reserved"), ("240.0.0.1", "reserved"), ("0.1.2.3", "unspecified"),
    ])
    func everySpecialRangeIsRefused(address text: String, reason: String) throws {
        let address = try #require(TargetResolver.literal(text), "\(text)")
        let why = try #require(AddressPolicy.restriction(of: address.bytes), "\(text) was allowed")
        #expect(why.contains(reason), "\(text): \(why)")
    }

    @Test func refusedRangesAreRefusedByTheResolverUnlessAllowed() async throws {
        let strict = TargetResolver(allowPrivate: false)
        let lenient = TargetResolver(allowPrivate: true)
        for text in ["::ffff:0:127.0.0.1", "2002:a00:1::1", "2001::1", "fec0::1", "::127.0.0.1", "2001:db8::1"] {
            let error = await #expect(throws: WebhookError.self, "\(text)") { _ = try await strict.resolve(text) }
            #expect(error?.isRefused == true, "\(text)")
            #expect(try await lenient.resolve(text).count == 1, "\(text)")
        }
    }

    @Test func aNameIsRefusedWhenAnyOfItsAddressesIs() async throws {
        let resolver = TargetResolver(
            allowPrivate: false,
            lookUp: { _ in
                [
                    TargetResolver.Address(bytes: [8, 8, 8, 8], text: "8.8.8.8"),
                    try #require(TargetResolver.literal("2002:a00:1::1")),
                ]
            }
        )
        do {
            _ = try await resolver.resolve("hooks.example")
            Issue.record("a name with a 6to4 address of a private host was allowed")
        } catch let error as WebhookError {
            #expect(error.isRefused)
            #expect(error.message.hasPrefix("hooks.example (2002:a00:1:0:0:0:0:1) is a 6to4 address of 10.0.0.1"))
        }
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
