import Foundation

/// A webhook's URL split the way the sender needs it: scheme, host, port, the `host` header,
/// and the path with its query, percent-encoding what a rendered template may have put there
/// that a URL cannot hold (spaces, quotes, non-ASCII).
public struct TargetURL: Sendable, Hashable {
    /// `http` or `https`.
    public var scheme: String
    /// The host name or address, lower-cased, without IPv6 brackets.
    public var host: String
    /// The port (80 or 443 unless given).
    public var port: Int
    /// The `host` header: the host as written, with the port when it is not the default.
    public var hostHeader: String
    /// The path and query, starting with `/`.
    public var pathAndQuery: String

    /// The whole URL, normalized.
    public var text: String { "\(scheme)://\(hostHeader)\(pathAndQuery)" }

    /// Whether the scheme is `https`.
    public var isSecure: Bool { scheme == "https" }

    /// Parses an absolute http(s) URL; throws ``WebhookError/invalid(_:)`` explaining what is wrong.
    public static func parse(_ raw: String) throws -> TargetURL {
        let text = raw.trimmingCharacters(in: .whitespaces)
        guard let schemeEnd = text.range(of: "://") else {
            throw WebhookError.invalid("url must be an http:// or https:// URL (got \(Self.quote(text)))")
        }
        let scheme = text[..<schemeEnd.lowerBound].lowercased()
        guard scheme == "http" || scheme == "https" else {
            throw WebhookError.invalid("url must be an http:// or https:// URL (got \(Self.quote(text)))")
        }
        let rest = text[schemeEnd.upperBound...]
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        var tail = String(rest[authorityEnd...])
        if let fragment = tail.firstIndex(of: "#") { tail = String(tail[..<fragment]) }
        guard !authority.contains("@") else {
            throw WebhookError.invalid("url must not contain a user name or password: use auth instead")
        }
        var host: Substring
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else {
                throw WebhookError.invalid("url has an unterminated IPv6 address")
            }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw WebhookError.invalid("url has a malformed host") }
                portText = after.dropFirst()
            }
        } else if let colon = authority.lastIndex(of: ":") {
            host = authority[..<colon]
            portText = authority[authority.index(after: colon)...]
        } else {
            host = authority
        }
        guard !host.isEmpty, host.allSatisfy({ $0.isASCII && !$0.isWhitespace && $0 != "%" }) else {
            throw WebhookError.invalid("url must name a host (got \(Self.quote(text)))")
        }
        let defaultPort = scheme == "https" ? 443 : 80
        var port = defaultPort
        if let portText {
            guard let number = Int(portText), (1...65535).contains(number) else {
                throw WebhookError.invalid("url has an invalid port \(Self.quote(String(portText)))")
            }
            port = number
        }
        let lowerHost = host.lowercased()
        let shownHost = lowerHost.contains(":") ? "[\(lowerHost)]" : lowerHost
        return TargetURL(
            scheme: scheme,
            host: lowerHost,
            port: port,
            hostHeader: port == defaultPort ? shownHost : "\(shownHost):\(port)",
            pathAndQuery: Self.encode(tail.isEmpty ? "/" : (tail.hasPrefix("/") ? tail : "/" + tail))
        )
    }

    /// This URL with `parameters` (already encoded `k=v` pairs) appended to its query.
    func appending(query parameters: String) -> TargetURL {
        guard !parameters.isEmpty else { return self }
        var copy = self
        let separator = pathAndQuery.contains("?") ? (pathAndQuery.hasSuffix("?") ? "" : "&") : "?"
        copy.pathAndQuery += separator + parameters
        return copy
    }

    /// Percent-encodes every byte a URL may not hold literally (keeps `%` escapes as they are).
    static func encode(_ text: String) -> String {
        PercentEncoding.encode(text, keeping: allowed)
    }

    private static let allowed: Set<UInt8> = Set(
        Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~:/?[]@!$&'()*+,;=%".utf8)
    )

    private static func quote(_ text: String) -> String {
        "\"\(text.prefix(80))\""
    }
}
