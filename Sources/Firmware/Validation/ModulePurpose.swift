/// What an upload is meant to update, which decides the module functions it may contain.
public enum ModulePurpose: Hashable, Sendable {
    /// The application (`PUT /v1/devices/:id` with a binary, product firmware): user parts, a
    /// combined "Device OS + application" file, or monolithic firmware on the virtual device.
    case application
    /// Device OS: system parts, bootloader, NCP firmware, radio stack.
    case deviceOS
}
