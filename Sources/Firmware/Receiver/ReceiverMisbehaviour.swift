/// Ways a simulated device can make an update hard, to test the server's recovery. Chunks are
/// named by their number in the file (byte offset ÷ chunk size), whatever the protocol's own
/// indexing.
public struct ReceiverMisbehaviour: Hashable, Sendable {
    /// Chunks lost the first time they arrive (the device never sees them).
    public var dropOnce: Set<Int> = []
    /// Chunks lost every time: a legacy device asks for them again and again, a v3 device never
    /// acknowledges them.
    public var dropAlways: Set<Int> = []
    /// A chunk whose data arrives with one byte flipped, the first time: a legacy device fails
    /// its CRC, a v3 device (no per-chunk check) stores it and finds the file corrupt at the end.
    public var corruptOnce: Int?
    /// Drop the connection after this many chunk messages, once ("disconnect halfway").
    public var disconnectAfterChunks: Int?
    /// Answer the start of an update with "updates disabled" (as `System.disableUpdates()` does).
    public var refuse = false

    /// A device that behaves.
    public init() {}
}
