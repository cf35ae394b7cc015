/// The Particle TCP device protocol: handshake, framing and message rules as state machines.
/// (Filled in by the device gateway work.)
public enum DeviceProtocol {}
