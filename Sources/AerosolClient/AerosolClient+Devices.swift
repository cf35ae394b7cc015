import AerosolModels

extension AerosolClient {
    /// The caller's devices.
    public func listDevices() async throws -> [DeviceInfo] {
        try await send(.GET, "/v1/devices").arrayValue?.map(DeviceInfo.init) ?? []
    }

    /// One device, by id or name.
    public func device(_ idOrName: String) async throws -> DeviceInfo {
        DeviceInfo(try await send(.GET, "/v1/devices/\(Self.segment(idOrName))"))
    }

    /// Claims a device for the caller.
    public func claimDevice(_ id: String) async throws {
        try await send(.POST, "/v1/devices", body: .form([("id", id)]))
    }

    /// Renames a device.
    public func renameDevice(_ idOrName: String, to name: String) async throws {
        try await send(.PUT, "/v1/devices/\(Self.segment(idOrName))", body: .form([("name", name)]))
    }

    /// Releases the caller's claim on a device.
    public func removeDevice(_ idOrName: String) async throws {
        try await send(.DELETE, "/v1/devices/\(Self.segment(idOrName))")
    }
}
