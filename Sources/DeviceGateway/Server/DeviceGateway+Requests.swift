import DeviceProtocol

/// What the REST API asks of a connected device: variables,
/// functions and signal, each answered within the request timeout.
extension DeviceGateway {
    /// Whether the device has an online connection to this gateway.
    public func isOnline(_ deviceID: String) -> Bool {
        context.registry.link(deviceID) != nil
    }

    /// Tells the connections of these devices that their owner or product changed (a claim, an
    /// unclaim, a product change), so that their subscriptions follow.
    public func scopeChanged(deviceIDs: some Sequence<String>) {
        for id in deviceIDs { context.registry.link(id)?.refreshScope() }
    }

    /// Closes the device's connection, if it has one (its key was replaced: the device must
    /// prove the new key with a new handshake).
    public func disconnect(deviceID: String) {
        context.registry.link(deviceID)?.close()
    }

    /// Reads a variable and decodes it by the type the device declared.
    ///
    /// - Throws: ``GatewayError`` `.notConnected`, `.unknownVariable`, `.timedOut`, `.busy`,
    ///   `.refused` (the device answered with an error) or `.invalidResponse`.
    public func readVariable(_ name: String, deviceID: String) async throws -> VariableValue {
        if let answer = try await relayed(.init(device: deviceID, kind: .variable, name: name)) {
            return answer.variable?.value ?? .null
        }
        let (link, deadline) = try connection(deviceID)
        let declared = try await application(of: link, until: deadline)
        guard let type = declared.variableType(name) else { throw GatewayError.unknownVariable(name) }
        switch try await link.request(.variable(name), timeout: remaining(until: deadline)) {
        case .success(let payload):
            do {
                return try VariableValue(payload: payload, type: type)
            } catch {
                throw GatewayError.invalidResponse(
                    "the device answered \(payload.count) bytes for the \(type.apiName) variable \(name)"
                )
            }
        case .failure(.notFound):
            throw GatewayError.unknownVariable(name)
        case .failure(let code):
            throw GatewayError.refused("the device answered \(code) to reading \(name)")
        case .reset:
            throw GatewayError.refused("the device reset the request to read \(name)")
        }
    }

    /// Calls a function with `argument` and returns its int32 result.
    ///
    /// - Throws: ``GatewayError`` as ``readVariable(_:deviceID:)``, with `.unknownFunction`, and
    ///   `.argumentTooLong` when the device refuses the argument (4.00).
    public func callFunction(_ name: String, argument: String, deviceID: String) async throws -> Int32 {
        if let answer = try await relayed(.init(device: deviceID, kind: .function, name: name, argument: argument)) {
            return answer.result ?? 0
        }
        let (link, deadline) = try connection(deviceID)
        let declared = try await application(of: link, until: deadline)
        guard declared.functions?.contains(name) == true else { throw GatewayError.unknownFunction(name) }
        let response = try await link.request(
            .function(name, argument: argument),
            timeout: remaining(until: deadline)
        )
        switch response {
        case .success(let payload):
            guard payload.count == 4 else {
                throw GatewayError.invalidResponse("the device answered \(payload.count) bytes as \(name)'s result")
            }
            return Int32(bitPattern: payload.reduce(0) { $0 << 8 | UInt32($1) })
        case .failure(.notFound):
            throw GatewayError.unknownFunction(name)
        case .failure(.badRequest):
            throw GatewayError.argumentTooLong("the device refused the argument: too long for its firmware")
        case .failure(let code):
            throw GatewayError.refused("the device answered \(code) to calling \(name)")
        case .reset:
            throw GatewayError.refused("the device reset the call of \(name)")
        }
    }

    /// Starts or stops the device's rainbow signal.
    public func signal(_ on: Bool, deviceID: String) async throws {
        if try await relayed(.init(device: deviceID, kind: .signal, on: on)) != nil { return }
        let (link, deadline) = try connection(deviceID)
        switch try await link.request(.signal(on), timeout: remaining(until: deadline)) {
        case .success:
            return
        case .failure(let code):
            throw GatewayError.refused("the device answered \(code) to the signal")
        case .reset:
            throw GatewayError.refused("the device reset the signal request")
        }
    }

    /// Pings the device through its connection (a CoAP ping it must ACK); `false` if it
    /// is not connected or does not answer within the request timeout.
    public func ping(deviceID: String) async -> Bool {
        if let answer = try? await relayed(.init(device: deviceID, kind: .ping)) { return answer.online ?? false }
        guard let (link, deadline) = try? connection(deviceID), let timeout = try? remaining(until: deadline) else {
            return false
        }
        switch try? await link.request(.ping, timeout: timeout) {
        case .success?, .reset?: return true  // An RST answers a ping too (RFC 7252 §4.3).
        case .failure?, nil: return false
        }
    }

    private func connection(_ deviceID: String) throws -> (DeviceLink, ContinuousClock.Instant) {
        guard let link = context.registry.link(deviceID) else { throw GatewayError.notConnected() }
        return (link, .now + context.settings.requestTimeout)
    }

    private func remaining(until deadline: ContinuousClock.Instant) throws -> Duration {
        let left = deadline - .now
        guard left > .zero else { throw GatewayError.timedOut("the device did not answer in time") }
        return left
    }

    /// The device's application Describe: the one it gave on this connection, or asked for now
    /// (GET `/d` with flag `0x02`) if it has not described itself yet.
    private func application(of link: DeviceLink, until deadline: ContinuousClock.Instant) async throws -> Describe {
        if let known = try await link.application() { return known }
        let response = try await link.request(.describe(flags: 0x02), timeout: remaining(until: deadline))
        guard case .success(let payload) = response, let describe = try? Describe(json: payload) else {
            throw GatewayError.invalidResponse("the device did not describe its functions and variables")
        }
        return describe
    }
}
