import Crypto
import Foundation

/// HMAC-SHA256 request signatures, for webhooks that have a secret.
///
/// The header is `X-Aerosol-Signature: t=<unix seconds>,v1=<hex>`, where `<hex>` is the
/// lower-case hex HMAC-SHA256, keyed with the secret's UTF-8 bytes, of `<t>.<body>`: the
/// timestamp, a dot, and the exact body bytes (empty for a request without a body). A
/// receiver recomputes it, compares in constant time, and rejects a timestamp more than a few
/// minutes from its clock (replays).
public enum WebhookSignature {
    /// The header name.
    public static let header = "X-Aerosol-Signature"

    /// The header value for `body` signed at `timestamp` (Unix seconds).
    public static func value(secret: String, timestamp: Int64, body: some Collection<UInt8>) -> String {
        "t=\(timestamp),v1=\(digest(secret: secret, timestamp: timestamp, body: body))"
    }

    /// The hex HMAC of `<timestamp>.<body>`.
    public static func digest(secret: String, timestamp: Int64, body: some Collection<UInt8>) -> String {
        var message = Array("\(timestamp).".utf8)
        message.append(contentsOf: body)
        let code = HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: Array(secret.utf8)))
        return code.map { String($0, radix: 16).leftPadded(to: 2) }.joined()
    }

    /// Whether `headerValue` is a valid signature of `body` under `secret`, made within
    /// `tolerance` seconds of `now` (what a receiver checks).
    public static func verify(
        _ headerValue: String,
        secret: String,
        body: some Collection<UInt8>,
        now: Date = Date(),
        tolerance: TimeInterval = 300
    ) -> Bool {
        var timestamp: Int64?
        var signatures: [String] = []
        for part in headerValue.split(separator: ",") {
            let pair = part.split(separator: "=", maxSplits: 1).map(String.init)
            guard pair.count == 2 else { continue }
            if pair[0] == "t" { timestamp = Int64(pair[1]) }
            if pair[0] == "v1" { signatures.append(pair[1]) }
        }
        guard let timestamp, abs(now.timeIntervalSince1970 - Double(timestamp)) <= tolerance else { return false }
        let expected = Array(digest(secret: secret, timestamp: timestamp, body: body).utf8)
        return signatures.contains { candidate in
            let given = Array(candidate.utf8)
            guard given.count == expected.count else { return false }
            return zip(given, expected).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
        }
    }
}
