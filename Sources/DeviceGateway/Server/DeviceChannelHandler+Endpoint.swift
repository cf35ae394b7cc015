/// A TCP connection is one kind of ``DeviceEndpoint``: requests, deliveries and scope changes
/// are in `DeviceChannelHandler+Requests.swift` and `DeviceChannelHandler+Status.swift`.
extension DeviceChannelHandler: DeviceEndpoint {
    /// Closes the connection (the device reconnects; its new connection takes over).
    func disconnect() {
        context?.channel.close(promise: nil)
    }
}
