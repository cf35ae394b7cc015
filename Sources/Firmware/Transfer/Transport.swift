/// The transport under the device session. Both carry the same CoAP messages; they differ in
/// reliability: over UDP (DTLS) messages can be lost, duplicated or reordered, the device sends
/// some answers as CON instead of NON, and the transport retransmits CON messages until they are
/// ACKed.
public enum Transport: Hashable, Sendable {
    /// TCP (port 5683): reliable and ordered.
    case tcp
    /// UDP with DTLS (port 5684): CoAP reliability (CON retransmission, duplicate detection).
    case udp
}
