/// How a device reaches the gateway.
public enum DeviceTransport: String, Sendable, CaseIterable {
    /// The TCP protocol on port 5683 (Photon, P1, Electron on TCP).
    case tcp
    /// DTLS over UDP on port 5684 (Argon, Boron, P2, Photon 2, M SoM, …).
    case udp
}
