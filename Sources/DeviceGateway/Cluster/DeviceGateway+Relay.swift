import Firmware
import Foundation

/// Requests for devices whose connection another node holds (``NodeRelay``).
extension DeviceGateway {
    /// The answer of the node that holds the device's connection, when it is not this one;
    /// `nil` when the request is this node's to make (the device is connected here, or nowhere).
    /// A failed request on the other node throws its ``GatewayError`` here.
    func relayed(_ request: RelayedRequest) async throws -> RelayedAnswer? {
        guard let relay = context.relay, context.registry.link(request.device) == nil else { return nil }
        guard let answer = try await relay.forward(request, timeout: context.settings.requestTimeout) else {
            return nil
        }
        if answer.error == RelayedAnswer.firmwareError { throw FirmwareError.relayed(answer.message ?? "") }
        if let kind = answer.error { throw GatewayError(relayedKind: kind, message: answer.message ?? kind) }
        return answer
    }

    /// Makes another node's request through this node's connection to the device.
    func perform(_ request: RelayedRequest) async -> RelayedAnswer {
        var answer = RelayedAnswer(id: request.id)
        guard context.registry.link(request.device) != nil else {
            let error = GatewayError.notConnected()
            answer.error = error.relayedKind
            answer.message = error.message
            return answer
        }
        do {
            switch request.kind {
            case .variable:
                answer.variable = RelayedValue(try await readVariable(request.name ?? "", deviceID: request.device))
            case .function:
                answer.result = try await callFunction(
                    request.name ?? "",
                    argument: request.argument ?? "",
                    deviceID: request.device
                )
            case .signal:
                try await signal(request.on ?? false, deviceID: request.device)
            case .ping:
                answer.online = await ping(deviceID: request.device)
            case .flash:
                guard let files = context.firmwareFiles, let sha256 = request.name else {
                    throw GatewayError.refused("this node cannot read firmware from the database")
                }
                try await flash(Array(try await files.bytes(sha256)), deviceID: request.device)
            case .cancelFlash:
                answer.cancelled = try await cancelFlash(deviceID: request.device)
            }
        } catch let error as GatewayError {
            answer.error = error.relayedKind
            answer.message = error.message
        } catch let error as FirmwareError {
            answer.error = RelayedAnswer.firmwareError
            answer.message = error.description
        } catch {
            answer.error = GatewayError.refused("").relayedKind
            answer.message = "\(error)"
        }
        return answer
    }
}

extension RelayedRequest {
    /// A request to send (``NodeRelay/forward(_:timeout:)`` fills in its id and sender).
    init(device: String, kind: Kind, name: String? = nil, argument: String? = nil, on: Bool? = nil) {
        self.init(id: "", from: "", device: device, kind: kind, name: name, argument: argument, on: on)
    }
}

extension RelayedAnswer {
    init(id: String) {
        self.init(id: id, variable: nil, result: nil, online: nil, cancelled: nil, error: nil, message: nil)
    }

    /// ``error`` for a ``FirmwareError``.
    static let firmwareError = "firmware"
}
