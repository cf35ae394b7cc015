import AerosolServer
import AerosolStore
import DeviceGateway
import Foundation

/// What `aerosol serve` checks before it starts, and how a start that fails is reported: one
/// line on stderr naming what failed (the address in use, the data directory's problem) and
/// exit code 1, with nothing left running.
extension Serve {
    /// The server's listeners: HTTP and devices on TCP, and devices on UDP.
    static func listeners(_ configuration: Configuration) -> (
        http: ServeListener, devices: ServeListener, udpDevices: ServeListener
    ) {
        (
            ServeListener(
                purpose: "HTTP",
                address: ListenAddress(host: configuration.host, port: configuration.port),
                option: "--port"
            ),
            ServeListener(
                purpose: "devices (TCP)",
                address: ListenAddress(
                    host: configuration.deviceHost ?? configuration.host,
                    port: configuration.devicePort
                ),
                option: "--device-port"
            ),
            ServeListener(
                purpose: "devices (UDP)",
                address: ListenAddress(
                    host: configuration.udpDeviceHost ?? configuration.deviceHost ?? configuration.host,
                    port: configuration.udpDevicePort
                ),
                option: "--udp-device-port"
            )
        )
    }

    /// Fails at once, before the data directory is touched, when a port is taken.
    static func checkListeners(_ configuration: Configuration) async throws {
        let (http, devices, udpDevices) = listeners(configuration)
        for (listener, isUDP) in [(http, false), (devices, false), (udpDevices, true)] {
            do {
                if isUDP {
                    try await listener.address.checkUDP()
                } else {
                    try await listener.address.checkTCP()
                }
            } catch  where ListenAddress.isListenFailure(error) {
                throw CLIError(listener.failure(error))
            }
        }
        if let port = configuration.metricsPort, port > 0 {
            let metrics = ServeListener(
                purpose: "metrics",
                address: ListenAddress(host: configuration.host, port: port),
                option: "--metrics-port"
            )
            do {
                try await metrics.address.checkTCP()
            } catch  where ListenAddress.isListenFailure(error) {
                throw CLIError(metrics.failure(error))
            }
        }
    }

    /// The one line that tells what stopped the server from starting (or running).
    static func describe(_ error: any Error, _ configuration: Configuration) -> String {
        switch error {
        case let error as CLIError: return error.description
        case let error as GatewayError: return error.message
        case let error as StoreError: return error.message
        case _ where ListenAddress.isListenFailure(error):
            // The only listener that binds while the services run is the HTTP server's (the
            // device gateway binds while the application is built, and names itself).
            return listeners(configuration).http.failure(error)
        default: return "\(error)"
        }
    }
}
