import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Resolves webhook hosts and enforces the ``AddressPolicy``: unless private targets are
/// allowed, a host any of whose addresses is not public is refused. Lookups are cached for
/// 30 seconds. The sender then connects to the very address that was checked (see
/// ``DeliverySender``), so a DNS answer that changes between check and connection cannot
/// reach a private address.
final class TargetResolver: Sendable {
    /// A checked address.
    struct Address: Sendable, Hashable {
        var bytes: [UInt8]
        var text: String
        /// The address as a URL host (`[…]` for IPv6).
        var urlHost: String { bytes.count == 16 ? "[\(text)]" : text }
    }

    private struct Cached {
        var addresses: [Address]
        var expires: ContinuousClock.Instant
    }

    let allowPrivate: Bool
    private let restriction: @Sendable ([UInt8]) -> String?
    private let lookUp: @Sendable (String) async throws -> [Address]
    private let cache = Mutex<[String: Cached]>([:])
    private let lifetime: Duration = .seconds(30)

    /// A resolver; `restriction` (default ``AddressPolicy/restriction(of:)``) judges each
    /// address and `lookUp` (default the system's `getaddrinfo`) resolves names — both are
    /// seams for tests.
    init(
        allowPrivate: Bool,
        restriction: @escaping @Sendable ([UInt8]) -> String? = AddressPolicy.restriction(of:),
        lookUp: @escaping @Sendable (String) async throws -> [Address] = TargetResolver.systemLookUp
    ) {
        self.allowPrivate = allowPrivate
        self.restriction = restriction
        self.lookUp = lookUp
    }

    /// The addresses of `host`, checked. Throws ``WebhookError/refused(_:)`` for a refused
    /// address and ``WebhookError/unavailable(_:)`` when the name does not resolve.
    func resolve(_ host: String) async throws -> [Address] {
        let addresses: [Address]
        if let literal = Self.literal(host) {
            addresses = [literal]
        } else if let cached = cache.withLock({ $0[host] }), cached.expires > .now {
            addresses = cached.addresses
        } else {
            addresses = try await lookUp(host)
            guard !addresses.isEmpty else { throw WebhookError.unavailable("could not resolve \(host)") }
            cache.withLock { cache in
                if cache.count > 10_000 { cache.removeAll() }
                cache[host] = Cached(addresses: addresses, expires: .now + lifetime)
            }
        }
        if !allowPrivate {
            for address in addresses {
                if let why = restriction(address.bytes) {
                    let shown = address.text == host ? host : "\(host) (\(address.text))"
                    throw WebhookError.refused(
                        "\(shown) is \(why); webhooks may only call public addresses unless the server runs with --allow-private-webhooks"
                    )
                }
            }
        }
        return addresses
    }

    /// An IP literal, if `host` is one.
    static func literal(_ host: String) -> Address? {
        var v4 = in_addr()
        if inet_pton(AF_INET, host, &v4) == 1 {
            let bytes = withUnsafeBytes(of: &v4) { Array($0) }
            return Address(bytes: bytes, text: host)
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, host, &v6) == 1 {
            let bytes = withUnsafeBytes(of: &v6) { Array($0) }
            return Address(bytes: bytes, text: format(bytes))
        }
        return nil
    }

    /// The system's answer for `host` (`getaddrinfo`, off the cooperative pool).
    static func systemLookUp(_ host: String) async throws -> [Address] {
        let result: Result<[Address], WebhookError> = await withCheckedContinuation { continuation in
            // getaddrinfo blocks, so it runs off the cooperative pool.
            DispatchQueue.global().async {
                continuation.resume(returning: getAddresses(host))
            }
        }
        return try result.get()
    }

    private static func getAddresses(_ host: String) -> Result<[Address], WebhookError> {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        #if canImport(Darwin)
            hints.ai_socktype = SOCK_STREAM
        #else
            hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #endif
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, nil, &hints, &list)
        guard status == 0, let first = list else {
            return .failure(.unavailable("could not resolve \(host)"))
        }
        defer { freeaddrinfo(first) }
        var addresses: [Address] = []
        var node: UnsafeMutablePointer<addrinfo>? = first
        while let current = node {
            if let sockaddr = current.pointee.ai_addr {
                switch Int32(current.pointee.ai_family) {
                case AF_INET:
                    let bytes = sockaddr.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { pointer in
                        withUnsafeBytes(of: pointer.pointee.sin_addr) { Array($0) }
                    }
                    addresses.append(Address(bytes: bytes, text: bytes.map(String.init).joined(separator: ".")))
                case AF_INET6:
                    let bytes = sockaddr.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { pointer in
                        withUnsafeBytes(of: pointer.pointee.sin6_addr) { Array($0) }
                    }
                    addresses.append(Address(bytes: bytes, text: format(bytes)))
                default: break
                }
            }
            node = current.pointee.ai_next
        }
        var seen = Set<[UInt8]>()
        addresses = addresses.filter { seen.insert($0.bytes).inserted }
        return addresses.isEmpty ? .failure(.unavailable("could not resolve \(host)")) : .success(addresses)
    }

    /// An IPv6 address as text (lower-case hex groups, no compression).
    static func format(_ bytes: [UInt8]) -> String {
        stride(from: 0, to: 16, by: 2).map { String(UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]), radix: 16) }
            .joined(separator: ":")
    }
}
