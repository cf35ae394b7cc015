/// The `spark/flash/status` events a cloud publishes around an OTA (Device OS never publishes
/// them; the data strings are those of Particle's firmware update events reference, trailing
/// space included).
public enum FlashStatus: String, Hashable, Sendable, CaseIterable {
    /// The server begins the transfer.
    case started
    /// The device took the file and accepted it: it restarts to apply it. This says nothing yet
    /// about whether it runs the new firmware (see ``UpdateVerification``).
    case success
    /// The transfer failed, was refused or was cancelled.
    case failed

    /// The event name, `spark/flash/status`.
    public static let eventName = "spark/flash/status"

    /// The event data: `started `, `success ` or `failed `, each with a trailing space.
    public var eventData: String { self.rawValue + " " }
}
