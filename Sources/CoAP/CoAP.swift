/// The CoAP message codec used by the Particle device protocol (RFC 7252 framing without UDP).
/// (Filled in by the device gateway work.)
public enum CoAP {}
