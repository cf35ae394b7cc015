import ArgumentParser
import DeviceGateway
import DeviceProtocol
import Foundation

/// `aerosol device simulate --protocol udp`: one Gen3/Gen4 device over UDP/DTLS, resuming its
/// session from a new port every `--resume-after` seconds. It takes firmware updates as the TCP
/// device does (`--ota-*`); after one it restarts: a full handshake, Hello and Describe.
extension DeviceSimulateCommand {
    func runDatagram() async throws {
        guard let id, let deviceID = DeviceID(hex: id), let key else { throw ValidationError("bad device id") }
        guard let privateKey = FileManager.default.contents(atPath: key) else {
            throw ValidationError("cannot read \(key)")
        }
        guard let serverKeyFile = FileManager.default.contents(atPath: serverKey) else {
            throw ValidationError("cannot read \(serverKey)")
        }
        let simulator: DatagramSimulator
        var hello = DatagramSimulator.defaultHello(deviceID: deviceID)
        let firmware = makeFirmware(hello: &hello, transport: .udp)
        do {
            simulator = try DatagramSimulator(
                deviceID: deviceID,
                privateKeyFile: privateKey,
                serverKeyFile: serverKeyFile,
                hello: hello,
                application: try makeApplication(),
                firmware: firmware
            )
        } catch let error as GatewayError {
            throw ValidationError(error.message)
        }
        let events = self.events
        let interval = self.interval
        let prefixes = subscribe
        let round = resumeAfter.map { Duration.milliseconds(Int64($0 * 1000)) }
        let port = try udpDevicePort
        while true {
            let resumed = simulator.canResume
            let restart = SimulatedRestart.Latch()
            do {
                try await simulator.run(host: host, port: port) { device in
                    if resumed {
                        printLine("device \(device.deviceID) resumed its session from a new port (no handshake)")
                    } else {
                        printLine("device \(device.deviceID) connected over UDP")
                        for prefix in prefixes {
                            let code = try await device.subscribe(prefix)
                            printLine("subscribed to \(prefix)" + (code == .empty ? "" : " (server answered \(code))"))
                        }
                    }
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        group.addTask {
                            for await event in device.events { printLine("received \(event.name)=\(event.data ?? "")") }
                        }
                        group.addTask { try await Self.follow(firmware, restart: restart) }
                        group.addTask {
                            try await Self.session(device, events: events, interval: interval) { name, data, code in
                                let answer = code == .empty ? "" : " (server answered \(code.map { "\($0)" } ?? "-"))"
                                printLine("published \(name)=\(data)" + answer)
                            }
                        }
                        // The round is over (or the session failed): go to sleep, then resume.
                        if let round { group.addTask { try await Task.sleep(for: round) } }
                        try await group.next()
                        group.cancelAll()
                    }
                }
            } catch {
                guard let reason = restart.reason else { throw error }
                printLine("reconnecting (\(reason))")
                continue
            }
            if let reason = restart.reason {
                printLine("reconnecting (\(reason))")
                continue
            }
            if round == nil { return }
        }
    }
}
