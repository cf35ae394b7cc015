/// The two ways Device OS receives firmware.
public enum OTAProtocol: Hashable, Sendable {
    /// UpdateBegin / Chunk / UpdateDone with fast OTA and ChunkMissed (Device OS
    /// `communication/src/chunked_transfer.cpp`): Gen 2, the virtual device, Gen 3 before 3.0.0.
    case legacy
    /// UpdateStart / UpdateChunk / UpdateAck / UpdateFinish with a receive window and resumable
    /// transfers (Device OS `communication/src/firmware_update.cpp`): devices whose Hello has flag
    /// `0x80`. Such a device ignores the legacy requests.
    case v3

    /// The protocol a device with `profile` speaks.
    public init(for profile: DeviceProfile) {
        self = profile.usesProtocolV3 ? .v3 : .legacy
    }
}
