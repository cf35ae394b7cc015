import CoAP

/// What the gateway must do for a transfer, in order.
public enum TransferAction: Hashable, Sendable {
    /// Write this message as it is. Its type says CON or NON: over UDP the transport retransmits a
    /// CON with the same message ID until the device ACKs it (the transfer never resends a CON
    /// under a new ID by itself unless the protocol asks for it); ACKs are for device CONs.
    case send(CoAPMessage)
    /// Call ``FirmwareTransfer/timerFired(at:messageIDs:)`` at this instant, replacing any deadline
    /// asked for before; `nil` cancels it.
    case deadline(ContinuousClock.Instant?)
    /// More chunks are ready: write the messages above, and call
    /// ``FirmwareTransfer/flushed(at:messageIDs:)`` once the connection has taken them (a flush
    /// completed, the channel is writable). This is the transfer's back-pressure: it never hands
    /// out more than one burst of chunks at a time.
    case flush
    /// How far the transfer has got.
    case progress(TransferProgress)
    /// The transfer is over. Nothing follows.
    case finished(TransferOutcome)
}
