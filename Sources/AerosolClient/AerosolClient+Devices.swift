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

    /// Claims a device for the caller. Returns whether the server holds the device's public key
    /// (`provisioned`): a device without one cannot connect until it is provisioned. A server
    /// that does not say is taken to hold it.
    @discardableResult
    public func claimDevice(_ id: String) async throws -> Bool {
        let answer = try await send(.POST, "/v1/devices", body: .form([("id", id)]))
        return answer["provisioned"] != .bool(false)
    }

    /// Renames a device.
    public func renameDevice(_ idOrName: String, to name: String) async throws {
        try await send(.PUT, "/v1/devices/\(Self.segment(idOrName))", body: .form([("name", name)]))
    }

    /// Releases the caller's claim on a device.
    public func removeDevice(_ idOrName: String) async throws {
        try await send(.DELETE, "/v1/devices/\(Self.segment(idOrName))")
    }

    /// Reads a variable of a connected device (a round trip to the device); the value keeps its
    /// type (`.int`, `.double`, `.bool`, `.string`).
    public func variable(_ name: String, of device: String) async throws -> JSONValue {
        let answer = try await send(.GET, "/v1/devices/\(Self.segment(device))/\(Self.segment(name))")
        guard let result = answer["result"] else {
            throw ClientError.unexpected("the answer has no result: \(answer.serialized.prefix(200))", status: 200)
        }
        return result
    }

    /// Calls a function of a connected device with `argument` and returns its result.
    public func callFunction(_ name: String, on device: String, argument: String = "") async throws -> Int {
        let answer = try await send(
            .POST,
            "/v1/devices/\(Self.segment(device))/\(Self.segment(name))",
            body: .form([("arg", argument)])
        )
        // The Particle CLI, too, takes a 2xx without `return_value` as a failure.
        guard let value = answer["return_value"]?.intValue else {
            throw ClientError.unexpected(
                "the answer has no return_value: \(answer.serialized.prefix(200))",
                status: 200
            )
        }
        return Int(value)
    }

    /// Starts (`true`) or stops the device's rainbow signal.
    public func signal(_ device: String, _ on: Bool) async throws {
        try await send(.PUT, "/v1/devices/\(Self.segment(device))", body: .form([("signal", on ? "1" : "0")]))
    }
}
