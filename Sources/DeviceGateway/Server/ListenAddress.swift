import Foundation
import NIOCore
import NIOPosix

/// An address a server of Aerosol listens on (HTTP, devices), and what to tell people when it
/// cannot: one line naming the address and the reason, never a backtrace.
public struct ListenAddress: Sendable, CustomStringConvertible {
    /// The host name or address.
    public var host: String
    /// The port; 0 lets the system pick a free one.
    public var port: Int

    /// An address to listen on.
    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// `host:port`, with an IPv6 address in brackets.
    public var description: String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    /// Binds a TCP socket to the address as a server would (with `SO_REUSEADDR`) and closes it
    /// at once: throws, with the error the bind gave, where a server could not listen now.
    /// Port 0 always succeeds.
    public func checkTCP() async throws {
        guard port != 0 else { return }
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .bind(host: host, port: port)
            .get()
        try await channel.close()
    }

    /// Fails as binding a UDP socket here would (a port 0 always binds).
    public func checkUDP() async throws {
        guard port != 0 else { return }
        let channel = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: host, port: port)
            .get()
        try await channel.close()
    }

    /// Whether `error` is a failure to listen (a bind refused, or a host that does not resolve),
    /// which ``reason(_:)`` describes.
    public static func isListenFailure(_ error: any Error) -> Bool {
        if let error = error as? IOError {
            return [EADDRINUSE, EADDRNOTAVAIL, EACCES].contains(error.errnoCode) || error.description.hasPrefix("bind")
        }
        return error is SocketAddressError
    }

    /// Why listening failed, in a few words: `address already in use`, `permission denied`…
    public static func reason(_ error: any Error) -> String {
        if let error = error as? IOError {
            switch error.errnoCode {
            case EADDRINUSE: return "address already in use"
            case EACCES: return "permission denied (ports below 1024 need privileges)"
            case EADDRNOTAVAIL: return "the address is not one of this machine's"
            default: return String(cString: strerror(error.errnoCode)).lowercased()
            }
        }
        if case SocketAddressError.unknown(let host, _) = error { return "the host \(host) does not resolve" }
        return "\(error)"
    }

    /// Whether `error` says that the address is in use.
    public static func isInUse(_ error: any Error) -> Bool {
        (error as? IOError)?.errnoCode == EADDRINUSE
    }
}
