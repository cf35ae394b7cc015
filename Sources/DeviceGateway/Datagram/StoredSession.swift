import DTLS
import DeviceProtocol
import Foundation

/// What the gateway stores of a UDP device's session so that the device resumes it after a
/// restart of the server without a handshake: the DTLS state (keys from the master secret and
/// randoms, the next sequence number past a reservation, the replay window), and what the
/// device said that it will not say again on a resume: its Hello, application Describe and
/// subscriptions (a resumed device sends none of them while its state is unchanged).
struct StoredSession: Codable, Sendable {
    var dtls: Data
    var hello: Data?
    var application: Data?
    var subscriptions: [Subscription]

    struct Subscription: Codable, Sendable {
        var prefix: String
        var ownDevicesOnly: Bool
    }

    /// The bytes to store.
    func encoded() throws -> [UInt8] {
        Array(try JSONEncoder().encode(self))
    }

    /// Reads stored bytes.
    init(decoding bytes: [UInt8]) throws {
        self = try JSONDecoder().decode(StoredSession.self, from: Data(bytes))
    }

    init(dtls: DTLSSession.State, hello: Hello?, application: [UInt8]?, subscriptions: [DeviceSubscription]) {
        self.dtls = Data(dtls.serialized())
        self.hello = hello.map { Data($0.payload) }
        self.application = application.map { Data($0) }
        self.subscriptions = subscriptions.map { Subscription(prefix: $0.prefix, ownDevicesOnly: $0.ownDevicesOnly) }
    }

    /// The DTLS state.
    func dtlsState() throws -> DTLSSession.State {
        try DTLSSession.State(serialized: Array(self.dtls))
    }

    /// The device's Hello, if it said one.
    var deviceHello: Hello? {
        hello.flatMap { try? Hello(payload: Array($0)) }
    }

    /// The device's subscriptions.
    var deviceSubscriptions: [DeviceSubscription] {
        subscriptions.map { DeviceSubscription(prefix: $0.prefix, ownDevicesOnly: $0.ownDevicesOnly) }
    }
}
