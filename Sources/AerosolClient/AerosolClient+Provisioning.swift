extension AerosolClient {
    /// Stores a device's public key (`POST /v1/provisioning/:id`) so that the device gateway
    /// accepts its handshake. `publicKeyPEM` is the RSA public key in PEM (`BEGIN PUBLIC KEY`).
    ///
    /// Anyone signed in may provision an unclaimed device that has no key yet; replacing a key,
    /// or provisioning a claimed device, is for the device's owner only (403 otherwise).
    public func provisionDevice(_ id: String, publicKeyPEM: String) async throws {
        try await send(.POST, "/v1/provisioning/\(Self.segment(id))", body: .form([("publicKey", publicKeyPEM)]))
    }
}
