import AerosolServer
import ArgumentParser
import Foundation
import NIOCore

/// `aerosol serve`'s reverse-proxy options.
struct ProxyOptions: ParsableArguments {
    @Option(
        name: .customLong("trusted-proxy"),
        help: ArgumentHelp(
            "A reverse proxy's address (repeatable) whose X-Forwarded-For names the client, for the sign-in lockout, the limits per client address and logs. [env: AEROSOL_TRUSTED_PROXIES, comma-separated] (default: none)",
            valueName: "address"
        )
    )
    var trustedProxies: [String] = []

    /// Applies the options (flags, else the environment variable); each must be an IP address.
    func apply(to configuration: inout Configuration) throws {
        var addresses = trustedProxies
        if addresses.isEmpty, let variable = ProcessInfo.processInfo.environment["AEROSOL_TRUSTED_PROXIES"] {
            addresses = variable.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                .filter { !$0.isEmpty }
        }
        configuration.trustedProxies = try addresses.map { address in
            // Written as SocketAddress writes a peer, so that they compare equal.
            guard let parsed = try? SocketAddress(ipAddress: address, port: 0), let text = parsed.ipAddress else {
                throw ValidationError("--trusted-proxy \(address) is not an IP address (e.g. 127.0.0.1 or ::1)")
            }
            return text
        }
    }
}
