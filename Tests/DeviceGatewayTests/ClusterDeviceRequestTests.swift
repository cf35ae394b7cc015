import AerosolModels
import AerosolServer
import AerosolTesting
import DeviceGateway
import Foundation
import Testing

/// Device requests through a node that does not hold the device's connection (several nodes on
/// one PostgreSQL database; run when the tests run on PostgreSQL).
@Suite(
    "Device requests across nodes",
    .timeLimit(.minutes(1)),
    .enabled(if: TestDatabases.engine == .postgres)
)
struct ClusterDeviceRequestTests {
    @Test func aDeviceOnOneNodeIsReadCalledSignalledAndPingedThroughAnother() async throws {
        try await TestCluster.with(nodes: 2, configure: { $0.gateway.helloTimeout = .seconds(15) }) { nodes in
            let (a, b) = (nodes[0], nodes[1])
            let token = try await a.user("ada@example.com")
            let device = try TestDeviceIdentity()
            try await GatewayLiveTests.provision(device, on: a, token: token)
            let simulator = try device.simulator(
                dataDirectory: b.dataDirectory,
                application: DeviceRequestLiveTests.application
            )
            try await simulator.run(host: "127.0.0.1", port: b.devicePort) { simulated in
                // Connected to B; A's device JSON says so (the database is shared).
                _ = try await DeviceRequestLiveTests.device(device.hex, on: a, token: token) {
                    $0.contains(#""connected":true"#) && $0.contains(#""functions":["fail","led"]"#)
                }
                let temp = try await a.get("/v1/devices/\(device.hex)/temp", token: token)
                #expect(temp.status == 200)
                #expect(
                    temp.text.hasPrefix(
                        #"{"cmd":"VarReturn","name":"temp","result":21.5,"coreInfo":{"name":null,"deviceID":"\#(device.hex)","connected":true"#
                    ),
                    "\(temp.text)"
                )
                #expect(try await a.get("/v1/devices/\(device.hex)/status?format=raw", token: token).text == "ok")
                let led = try await a.form(.POST, "/v1/devices/\(device.hex)/led", token: token, [("arg", "on")])
                #expect(led.text == #"{"id":"\#(device.hex)","name":null,"connected":true,"return_value":2}"#)
                // The other node's errors come back as they would locally.
                let missing = try await a.form(.POST, "/v1/devices/\(device.hex)/nope", token: token, [])
                #expect(missing.status == 404)
                #expect(missing.text == #"{"ok":false,"error":"Function not found"}"#)
                let ping = try await a.form(.PUT, "/v1/devices/\(device.hex)/ping", token: token, [])
                #expect(ping.text == #"{"online":true,"ok":true}"#)
                let signal = try await a.form(.PUT, "/v1/devices/\(device.hex)", token: token, [("signal", "1")])
                #expect(signal.text == #"{"id":"\#(device.hex)","connected":true,"signaling":true}"#)
                #expect(simulated.isSignaling)
            }
            // Gone from B: A answers as for any offline device.
            _ = try await DeviceRequestLiveTests.device(device.hex, on: a, token: token) {
                $0.contains(#""connected":false"#)
            }
            let offline = try await a.get("/v1/devices/\(device.hex)/temp", token: token)
            #expect(offline.status == 404)
            #expect(offline.text == #"{"ok":false,"error":"Device is not connected"}"#)
        }
    }
}

/// A node killed with SIGKILL (the real `aerosol serve` in a child process) while a device is
/// connected to it.
@Suite("Devices of a killed node", .timeLimit(.minutes(1)), .enabled(if: TestDatabases.engine == .postgres))
struct KilledNodeDeviceTests {
    @Test func theDevicesOfAKilledNodeGoOfflineWhenItsLeaseRunsOut() async throws {
        try await TestCluster.withKillableNode(
            arguments: ["--node-lease", "2"],
            configure: {
                $0.gateway.nodeLease = .seconds(2)
                $0.gateway.helloTimeout = .seconds(15)
            }
        ) { child, node in
            let token = try await node.user("ada@example.com")
            let device = try TestDeviceIdentity()
            try await GatewayLiveTests.provision(device, on: node, token: token)
            let stream = try await EventStreamReader.open(node, "/v1/devices/events/spark", token: token)
            try await stream.read(until: { $0.hasPrefix(":ok") })
            let simulator = try device.simulator(dataDirectory: node.dataDirectory)
            try await simulator.run(host: "127.0.0.1", port: child.devicePort) { _ in
                try await stream.read(until: { $0.contains(#""data":"online""#) })
                await child.kill()
                let killedAt = ContinuousClock.now
                // The child never says offline; this node does once the child's lease ran out.
                let offline = try await stream.read(until: { $0.contains(#""data":"offline""#) })
                #expect(offline.contains(#"event: spark/status"#))
                let waited = ContinuousClock.now - killedAt
                #expect(waited >= .seconds(1) && waited < .seconds(6), "offline after \(waited)")
                _ = try await DeviceRequestLiveTests.device(device.hex, on: node, token: token) {
                    $0.contains(#""connected":false"#)
                }
            }
        }
    }
}
