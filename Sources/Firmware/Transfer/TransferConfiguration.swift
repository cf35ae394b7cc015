/// Timeouts and limits of a transfer. The defaults suit Particle devices on both transports.
public struct TransferConfiguration: Hashable, Sendable {
    /// How long to wait for the device's answer to a request (UpdateBegin, a chunk in legacy
    /// normal mode, UpdateDone, UpdateStart, UpdateFinish) over TCP. Default 30 s (a per-step
    /// timeout, rather than one for the whole transfer).
    public var responseTimeout: Duration = .seconds(30)
    /// The same over UDP, where the transport may take up to ~93 s of CON retransmissions to get
    /// a request or an answer through (Device OS `coap_channel.h`). Default 95 s.
    public var udpResponseTimeout: Duration = .seconds(95)
    /// Whether to ask a legacy device for fast OTA (chunks streamed without a per-chunk answer)
    /// when its received-chunk bitmap fits its message buffer. Default `true`.
    public var fastOTA: Bool = true
    /// Chunks handed out per burst before the transfer waits for ``FirmwareTransfer/flushed(at:messageIDs:)``.
    /// Default 8.
    public var burstSize: Int = 8
    /// Over UDP, the least time between two bursts, so that a fast-OTA stream does not overrun
    /// the device's receive buffers. Default 20 ms (8 chunks of 512 bytes: about 200 KB/s).
    public var udpBurstInterval: Duration = .milliseconds(20)
    /// OTA v3 over UDP: resend the chunks sent but not acknowledged when no UpdateAck has made
    /// progress for this long. Default 2 s.
    public var udpResendInterval: Duration = .seconds(2)
    /// OTA v3 over TCP, which loses nothing: the same, as a last resort. Default 10 s.
    public var tcpResendInterval: Duration = .seconds(10)
    /// OTA v3: start the update again (it resumes) when no UpdateAck has made progress for this
    /// long. Default 30 s; the device itself gives up after 300 s without a chunk.
    public var stallTimeout: Duration = .seconds(30)
    /// Legacy: how often one chunk may fail its CRC check (ChunkReceived 4.00) or be asked for
    /// again in ChunkMissed before the transfer fails. Default 8.
    public var maximumChunkRetries: Int = 8
    /// Legacy fast OTA: the most ChunkMissed rounds (UpdateDone answered 4.00) in one attempt;
    /// `nil` allows `chunks / 10 + 10` (a round re-requests at most 40 chunks, 20 on Argon).
    public var maximumMissedRounds: Int?
    /// How long to wait for a device that disconnected during the transfer to come back.
    /// Default 10 minutes (a legacy device restarts itself 300 s after its last chunk).
    public var reconnectTimeout: Duration = .seconds(600)
    /// The most restarts (reconnects, stalls, failed resumes) in a row without progress before
    /// the transfer fails. Default 5.
    public var maximumRestarts: Int = 5
    /// Legacy: after a disconnect, a device may refuse UpdateBegin with 5.03 until its own 300 s
    /// update timeout restarts it; how often to ask again meanwhile. Default 30 s.
    public var busyRetryInterval: Duration = .seconds(30)
    /// The chunk size to use instead of the device's own (Hello), for example to test; `nil`
    /// uses the device's, or 512. Always bounded by the device's maximum message size.
    public var chunkSize: Int?

    /// The defaults.
    public init() {}

    /// ``responseTimeout`` or ``udpResponseTimeout``.
    func responseTimeout(for transport: Transport) -> Duration {
        transport == .udp ? self.udpResponseTimeout : self.responseTimeout
    }
}
