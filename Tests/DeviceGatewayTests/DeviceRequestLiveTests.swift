import AerosolModels
import AerosolServer
import AerosolTesting
import CoAP
import DeviceGateway
import DeviceProtocol
import Foundation
import Synchronization
import Testing

@Suite("Variables, functions, signal and subscriptions over REST, live", .timeLimit(.minutes(1)))
struct DeviceRequestLiveTests {
    static let application = SimulatedApplication(
        variables: [
            "temp": .double(21.5),
            "counter": .int32(42),
            "ready": .bool(true),
            "status": .string("ok"),
        ],
        functions: [
            "led": { argument in Int32(argument.utf8.count) },
            "fail": { _ in -1 },
        ],
        maximumArgumentBytes: 622
    )

    /// Short enough for the timeout tests, long enough for a loaded CI machine (1 s request
    /// timeouts and a 5 s wait for Hello failed there while the suite ran in parallel).
    static func fast(_ configuration: inout Configuration) {
        configuration.gateway.helloTimeout = .seconds(15)
        configuration.gateway.requestTimeout = .seconds(3)
    }

    /// Waits until the device JSON satisfies `condition` (a Describe is recorded just after Hello).
    static func device(
        _ id: String,
        on server: TestServer,
        token: String,
        until condition: (String) -> Bool
    ) async throws -> String {
        var text = ""
        for _ in 0..<100 {
            text = try await server.get("/v1/devices/\(id)", token: token).text
            if condition(text) { return text }
            try await Task.sleep(for: .milliseconds(50))
        }
        Issue.record("device JSON never matched: \(text)")
        return text
    }

    @Test func variablesFunctionsAndSignalOnAConnectedDevice() async throws {
        try await TestServer.with(configure: Self.fast) { server in
            let token = try await server.user("ada@example.com")
            let device = try TestDeviceIdentity()
            try await GatewayLiveTests.provision(device, on: server, token: token)
            let simulator = try device.simulator(dataDirectory: server.dataDirectory, application: Self.application)
            try await simulator.run(host: "127.0.0.1", port: server.devicePort) { simulated in
                // The pushed Describe lands in the device JSON, with the Hello's Device OS version.
                let detail = try await Self.device(device.hex, on: server, token: token) {
                    $0.contains(#""functions":["fail","led"]"#)
                }
                #expect(
                    detail.contains(
                        #""functions":["fail","led"],"variables":{"counter":"int32","ready":"bool","status":"string","temp":"double"}"#
                    ),
                    "\(detail)"
                )
                #expect(detail.contains(#""system_firmware_version":"5.0.0""#))

                let temp = try await server.get("/v1/devices/\(device.hex)/temp", token: token)
                #expect(temp.status == 200)
                #expect(temp.header("Content-Type") == "application/json")
                #expect(
                    temp.text.hasPrefix(
                        #"{"cmd":"VarReturn","name":"temp","result":21.5,"coreInfo":{"name":null,"deviceID":"\#(device.hex)","connected":true,"last_app":"","last_heard":""#
                    ),
                    "\(temp.text)"
                )
                #expect(temp.text.hasSuffix(#","product_id":3}}"#), "\(temp.text)")
                #expect(try await server.get("/v1/devices/\(device.hex)/counter?format=raw", token: token).text == "42")
                #expect(try await server.get("/v1/devices/\(device.hex)/ready?format=raw", token: token).text == "true")
                #expect(try await server.get("/v1/devices/\(device.hex)/status?format=raw", token: token).text == "ok")
                let status = try await server.get("/v1/devices/\(device.hex)/status", token: token)
                #expect(status.text.contains(#""name":"status","result":"ok","#))

                let unknown = try await server.get("/v1/devices/\(device.hex)/nope", token: token)
                #expect(unknown.status == 404)
                #expect(unknown.text == #"{"ok":false,"error":"Variable not found"}"#)

                // Functions: `arg` (form) and `args` (JSON, as particle-api-js sends it).
                let led = try await server.form(.POST, "/v1/devices/\(device.hex)/led", token: token, [("arg", "on")])
                #expect(led.status == 200)
                #expect(led.text == #"{"id":"\#(device.hex)","name":null,"connected":true,"return_value":2}"#)
                let json = try await server.request(
                    .POST,
                    "/v1/devices/\(device.hex)/led",
                    headers: [("Authorization", "Bearer \(token)"), ("Content-Type", "application/json")],
                    body: #"{"args":"three"}"#
                )
                #expect(json.text.hasSuffix(#""return_value":5}"#), "\(json.text)")
                let negative = try await server.form(.POST, "/v1/devices/\(device.hex)/fail", token: token, [])
                #expect(negative.text.hasSuffix(#""return_value":-1}"#))
                let missing = try await server.form(.POST, "/v1/devices/\(device.hex)/nope", token: token, [])
                #expect(missing.status == 404)
                #expect(missing.text == #"{"ok":false,"error":"Function not found"}"#)
                // Longer than this firmware takes (622): the device's 4.00 becomes a 400.
                let tooLong = try await server.form(
                    .POST,
                    "/v1/devices/\(device.hex)/led",
                    token: token,
                    [("arg", String(repeating: "x", count: 700))]
                )
                #expect(tooLong.status == 400)
                #expect(tooLong.text == #"{"ok":false,"error":"The argument is too long for the device's firmware"}"#)

                let ping = try await server.form(.PUT, "/v1/devices/\(device.hex)/ping", token: token, [])
                #expect(ping.text == #"{"online":true,"ok":true}"#)
                let putOther = try await server.form(.PUT, "/v1/devices/\(device.hex)/temp", token: token, [])
                #expect(putOther.status == 404)

                let signal = try await server.form(.PUT, "/v1/devices/\(device.hex)", token: token, [("signal", "1")])
                #expect(signal.text == #"{"id":"\#(device.hex)","connected":true,"signaling":true}"#)
                #expect(simulated.isSignaling)
                _ = try await server.form(.PUT, "/v1/devices/\(device.hex)", token: token, [("signal", "0")])
                #expect(!simulated.isSignaling)

                // Many requests at once are told apart by their tokens.
                let names = ["temp", "counter", "ready", "status"]
                let answers = try await withThrowingTaskGroup(of: (String, String).self) { group in
                    for index in 0..<40 {
                        let name = names[index % names.count]
                        group.addTask {
                            let raw = try await server.get("/v1/devices/\(device.hex)/\(name)?format=raw", token: token)
                            return (name, raw.text)
                        }
                    }
                    return try await group.reduce(into: [(String, String)]()) { $0.append($1) }
                }
                let expected = ["temp": "21.5", "counter": "42", "ready": "true", "status": "ok"]
                #expect(answers.count == 40)
                #expect(answers.allSatisfy { expected[$0.0] == $0.1 }, "\(answers)")

                // A variable that changes is read live.
                simulated.setVariable("counter", to: .int32(-7))
                #expect(try await server.get("/v1/devices/\(device.hex)/counter?format=raw", token: token).text == "-7")
            }

            // Gone: the spec's 404, not a timeout.
            _ = try await Self.device(device.hex, on: server, token: token) { $0.contains(#""online":false"#) }
            let offline = try await server.get("/v1/devices/\(device.hex)/temp", token: token)
            #expect(offline.status == 404)
            #expect(offline.text == #"{"ok":false,"error":"Device is not connected"}"#)
            let call = try await server.form(.POST, "/v1/devices/\(device.hex)/led", token: token, [])
            #expect(call.text == #"{"ok":false,"error":"Device is not connected"}"#)
            let ping = try await server.form(.PUT, "/v1/devices/\(device.hex)/ping", token: token, [])
            #expect(ping.text == #"{"online":false,"ok":true}"#)
            // The last known lists stay in the device JSON.
            let detail = try await server.get("/v1/devices/\(device.hex)", token: token)
            #expect(detail.text.contains(#""functions":["fail","led"]"#))
        }
    }

    @Test func productRoutesAndStrangersAreChecked() async throws {
        try await TestServer.with(configure: Self.fast) { server in
            let token = try await server.user("ada@example.com")
            let stranger = try await server.user("eve@example.com")
            let created = try await server.form(.POST, "/v1/products", token: token, [("name", "Sensors")])
            #expect(created.status == 200)
            let device = try TestDeviceIdentity()
            try await GatewayLiveTests.provision(device, on: server, token: token)
            _ = try await server.form(.POST, "/v1/products/sensors/devices", token: token, [("id", device.hex)])
            let simulator = try device.simulator(dataDirectory: server.dataDirectory, application: Self.application)
            try await simulator.run(host: "127.0.0.1", port: server.devicePort) { _ in
                _ = try await Self.device(device.hex, on: server, token: token) { $0.contains(#""led""#) }
                let read = try await server.get("/v1/products/sensors/devices/\(device.hex)/counter", token: token)
                #expect(read.status == 200)
                #expect(read.text.contains(#""result":42"#))
                let call = try await server.form(
                    .POST,
                    "/v1/products/sensors/devices/\(device.hex)/led",
                    token: token,
                    [("arg", "x")]
                )
                #expect(call.text.hasSuffix(#""return_value":1}"#))
                // Someone else's device: the spec's 403, nothing reaches the device.
                let denied = try await server.get("/v1/devices/\(device.hex)/counter", token: stranger)
                #expect(denied.status == 403)
                #expect(denied.text.hasPrefix(#"{"ok":false,"error":"Permission Denied""#))
                let forbidden = try await server.get(
                    "/v1/products/sensors/devices/\(device.hex)/counter",
                    token: stranger
                )
                #expect(forbidden.status == 403)
                let anonymous = try await server.get("/v1/devices/\(device.hex)/counter", token: nil)
                #expect(anonymous.status == 400)
            }
        }
    }

    @Test func aDeviceThatDoesNotAnswerTimesOutThenGoesOffline() async throws {
        try await TestServer.with(configure: { configuration in
            Self.fast(&configuration)
            // Pings after 4 s of silence, closed at 8 s: with 4 s (a ping at 2 s) the device's
            // answer came too late twice with the whole suite running on 2 cores.
            configuration.gateway.idleTimeout = .seconds(8)
        }) { server in
            let token = try await server.user("ada@example.com")
            let device = try TestDeviceIdentity()
            try await GatewayLiveTests.provision(device, on: server, token: token)
            let stream = try await EventStreamReader.open(server, "/v1/devices/\(device.hex)/events", token: token)
            try await stream.read(until: { $0.hasPrefix(":ok") })
            let simulator = try device.simulator(dataDirectory: server.dataDirectory, application: Self.application)
            try await simulator.run(host: "127.0.0.1", port: server.devicePort) { simulated in
                _ = try await stream.read(until: { $0.contains(#"{"data":"online""#) })
                _ = try await Self.device(device.hex, on: server, token: token) { $0.contains(#""led""#) }
                // Answering the server's pings keeps a silent device connected past the idle timeout.
                try await Task.sleep(for: .seconds(9))
                #expect(try await server.get("/v1/devices/\(device.hex)/counter?format=raw", token: token).text == "42")

                simulated.setResponsive(false)
                let late = try await server.get("/v1/devices/\(device.hex)/counter", token: token)
                #expect(late.status == 408)
                #expect(late.text == #"{"ok":false,"error":"Timed out."}"#)
                // Pings go unanswered too: the gateway closes the connection and reports offline.
                let offline = try await stream.read(
                    until: { $0.contains(#"{"data":"offline""#) },
                    timeout: .seconds(15)
                )
                #expect(offline.contains("event: spark/status\n"))
            }
            await stream.close()
        }
    }

    @Test func subscriptionsDeliverTheOwnersEventsToTheDevice() async throws {
        try await TestServer.with(configure: Self.fast) { server in
            let token = try await server.user("ada@example.com")
            let stranger = try await server.user("eve@example.com")
            let listener = try TestDeviceIdentity()
            let talker = try TestDeviceIdentity()
            try await GatewayLiveTests.provision(listener, on: server, token: token)
            try await GatewayLiveTests.provision(talker, on: server, token: token)
            try await listener.simulator(dataDirectory: server.dataDirectory).run(
                host: "127.0.0.1",
                port: server.devicePort
            ) { listening in
                #expect(try await listening.subscribe("alarm") == .empty)
                #expect(try await listening.subscribe("particle", ownDevicesOnly: true) == .empty)
                var received = listening.events.makeAsyncIterator()
                // Another device of the same owner publishes…
                try await talker.simulator(dataDirectory: server.dataDirectory).run(
                    host: "127.0.0.1",
                    port: server.devicePort
                ) { talking in
                    try await talking.publish("alarm/kitchen", data: "smoke")
                    try await talking.publish("unrelated", data: "x")
                }
                #expect(await received.next() == ReceivedEvent(name: "alarm/kitchen", data: "smoke"))
                // …the owner publishes through the API, a stranger publishes (not delivered).
                try await server.publish("alarm/stranger", "no", token: stranger)
                try await server.publish("alarm/api", "yes", token: token)
                #expect(await received.next() == ReceivedEvent(name: "alarm/api", data: "yes"))
                try await server.publish("particle/device/updates/pending", "true", token: token)
                #expect(await received.next() == ReceivedEvent(name: "particle/device/updates/pending", data: "true"))
            }
        }
    }

    @Test func firmwareBefore2IsAskedForItsDescribe() async throws {
        try await TestServer.with(configure: Self.fast) { server in
            let token = try await server.user("ada@example.com")
            let device = try TestDeviceIdentity()
            try await GatewayLiveTests.provision(device, on: server, token: token)
            var hello = DeviceSimulator.defaultHello
            hello.flags.remove(.deviceInitiatedDescribe)
            hello.systemVersion = 1512
            hello.platformID = 6
            let simulator = try device.simulator(
                dataDirectory: server.dataDirectory,
                hello: hello,
                application: Self.application
            )
            try await simulator.run(host: "127.0.0.1", port: server.devicePort) { _ in
                let detail = try await Self.device(device.hex, on: server, token: token) {
                    $0.contains(#""functions":["fail","led"]"#)
                }
                #expect(detail.contains(#""platform_id":6"#))
                #expect(detail.contains(#""system_firmware_version":"1.5.2""#), "\(detail)")
                #expect(try await server.get("/v1/devices/\(device.hex)/temp?format=raw", token: token).text == "21.5")
            }
        }
    }

    @Test func ownDevicesOnlySubscriptionsAndOwnerChangesAreHonoured() async throws {
        try await TestServer.with(configure: Self.fast) { server in
            let ada = try await server.user("ada@example.com")
            let eve = try await server.user("eve@example.com")
            _ = try await server.form(.POST, "/v1/products", token: ada, [("name", "Fleet")])
            let listener = try TestDeviceIdentity()
            let stranger = try TestDeviceIdentity()
            try await GatewayLiveTests.provision(listener, on: server, token: ada)
            // Both devices are in Ada's product; the second one is nobody's (a product device,
            // provisioned by a member).
            _ = try await server.form(
                .POST,
                "/v1/products/fleet/devices",
                token: ada,
                [("ids[]", listener.hex), ("ids[]", stranger.hex)]
            )
            let provisioned = try await server.form(
                .POST,
                "/v1/provisioning/\(stranger.hex)",
                token: ada,
                [("publicKey", stranger.publicKey.pemRepresentation)]
            )
            #expect(provisioned.status == 200)
            try await listener.simulator(dataDirectory: server.dataDirectory).run(
                host: "127.0.0.1",
                port: server.devicePort
            ) { listening in
                #expect(try await listening.subscribe("spark", ownDevicesOnly: true) == .empty)
                #expect(try await listening.subscribe("alarm") == .empty)
                var received = listening.events.makeAsyncIterator()
                try await stranger.simulator(dataDirectory: server.dataDirectory).run(
                    host: "127.0.0.1",
                    port: server.devicePort
                ) { talking in
                    // Product scope: delivered without `u`, not through the `u` subscription.
                    try await talking.publish("spark/theirs", data: "no")
                    try await talking.publish("alarm/product", data: "yes")
                }
                #expect(await received.next() == ReceivedEvent(name: "alarm/product", data: "yes"))
                try await server.publish("spark/mine", "yes", token: ada)
                #expect(await received.next() == ReceivedEvent(name: "spark/mine", data: "yes"))

                // Ada takes the device out of her product and releases it; Eve claims it: from
                // then on Eve's events arrive, not Ada's.
                let removed = try await server.request(
                    .DELETE,
                    "/v1/products/fleet/devices/\(listener.hex)",
                    headers: [("Authorization", "Bearer \(ada)")]
                )
                #expect(removed.status == 204)
                let released = try await server.request(
                    .DELETE,
                    "/v1/devices/\(listener.hex)",
                    headers: [("Authorization", "Bearer \(ada)")]
                )
                #expect(released.status == 200)
                let claimed = try await server.form(.POST, "/v1/devices", token: eve, [("id", listener.hex)])
                #expect(claimed.status == 200)
                // The refresh runs on the connection's loop; a probe shows when it is done.
                var probe = 0
                var arrived: ReceivedEvent?
                while arrived == nil, probe < 50 {
                    probe += 1
                    try await server.publish("spark/ada-\(probe)", "old owner", token: ada)
                    try await server.publish("spark/eve-\(probe)", "new owner", token: eve)
                    arrived = await received.next()
                    if arrived?.name.hasPrefix("spark/ada") == true {
                        arrived = nil  // Still the old scope: try again.
                    }
                }
                #expect(arrived?.name.hasPrefix("spark/eve") == true, "\(String(describing: arrived))")
            }
        }
    }
}
