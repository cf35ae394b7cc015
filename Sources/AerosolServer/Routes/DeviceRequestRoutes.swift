import AerosolModels
import DeviceGateway
import DeviceProtocol
import Foundation
import Hummingbird

/// Variables and functions of connected devices, on the user's
/// routes and the product routes: `GET …/:device/:variable`, `POST …/:device/:function`.
///
/// The event-stream routes (`…/:device/events`) are registered with a constant segment and win
/// over these, so a variable named `events` cannot be read this way (as in the original).
struct DeviceRequestRoutes {
    let cloud: Cloud

    /// The longest function argument sent to a device (Device OS 3 and later take 1024 bytes;
    /// older firmware refuses less, and that refusal is answered with 400 too).
    static let maximumArgumentBytes = 1024

    func register(_ routes: RouteRegistrar) {
        routes.on(.get, "/v1/devices/:device/:name", .caller) { request, context in
            let caller = try context.caller
            let device = try await cloud.device(try context.parameters.decoded("device"), for: caller)
            return try await read(try context.parameters.decoded("name"), of: device, request: request)
        }
        routes.on(.post, "/v1/devices/:device/:name", .caller) { request, context in
            let caller = try context.caller
            let fields = context.fields
            let device = try await cloud.device(try context.parameters.decoded("device"), for: caller)
            return try await call(try context.parameters.decoded("name"), on: device, fields, request: request)
        }
        // `PUT /v1/devices/:id/ping` shares the route of variables and functions, so that a
        // variable named `ping` can still be read.
        routes.on(.put, "/v1/devices/:device/:name", .caller) { request, context in
            let caller = try context.caller
            let device = try await cloud.device(try context.parameters.decoded("device"), for: caller)
            guard try context.parameters.decoded("name") == "ping" else {
                throw APIError.notFound("Only ping can be PUT on a device: PUT /v1/devices/:id/ping")
            }
            let online = await cloud.gateway.ping(deviceID: device.id)
            return .json(.object([("online", .bool(online)), ("ok", .bool(true))]))
        }
        routes.on(.get, "/v1/products/:product/devices/:device/:name", .caller) { request, context in
            let caller = try context.caller
            let product = try await cloud.product(try context.parameters.decoded("product"), for: caller)
            let device = try await cloud.productDevice(try context.parameters.decoded("device"), in: product)
            return try await read(try context.parameters.decoded("name"), of: device, request: request)
        }
        routes.on(.post, "/v1/products/:product/devices/:device/:name", .caller) { request, context in
            let caller = try context.caller
            let fields = context.fields
            let product = try await cloud.product(try context.parameters.decoded("product"), for: caller)
            let device = try await cloud.productDevice(try context.parameters.decoded("device"), in: product)
            return try await call(try context.parameters.decoded("name"), on: device, fields, request: request)
        }
    }

    /// `{"cmd":"VarReturn","name","result","coreInfo":{…}}`, or the bare value with `format=raw`.
    private func read(_ name: String, of device: Device, request: Request) async throws -> Response {
        let value: VariableValue
        do {
            value = try await cloud.gateway.readVariable(name, deviceID: device.id)
        } catch let error as GatewayError {
            throw APIError(error)
        }
        if request.uri.queryParameters.get("format") == "raw" {
            return .text(Self.rawText(value))
        }
        let coreInfo = JSONValue.object([
            ("name", .string(device.name)),
            ("deviceID", .string(device.id)),
            ("connected", .bool(true)),
            ("last_app", .string("")),
            // The device has just answered.
            ("last_heard", .timestamp(Date())),
            ("last_handshake_at", .timestamp(device.lastHandshakeAt)),
            ("product_id", .int(device.productID ?? device.platformID)),
        ])
        return .json(
            .object([
                ("cmd", .string("VarReturn")),
                ("name", .string(name)),
                ("result", Self.json(value)),
                ("coreInfo", coreInfo),
            ])
        )
    }

    /// `{"id","name","connected","return_value"}` (`name` is the device's), or the bare integer
    /// with `format=raw`.
    private func call(_ name: String, on device: Device, _ fields: RequestFields, request: Request) async throws
        -> Response
    {
        // The docs name the field `arg`; particle-api-js sends `args`. `arg` wins.
        let argument = fields.string("arg") ?? fields.string("args") ?? ""
        guard argument.utf8.count <= Self.maximumArgumentBytes else {
            throw APIError.badRequest("The argument is too long: at most \(Self.maximumArgumentBytes) bytes")
        }
        let result: Int32
        do {
            result = try await cloud.gateway.callFunction(name, argument: argument, deviceID: device.id)
        } catch let error as GatewayError {
            throw APIError(error)
        }
        if fields.string("format") == "raw" || request.uri.queryParameters.get("format") == "raw" {
            return .text(String(result))
        }
        return .json(
            .object([
                ("id", .string(device.id)),
                ("name", .string(device.name)),
                ("connected", .bool(true)),
                ("return_value", .int(Int64(result))),
            ])
        )
    }

    static func json(_ value: VariableValue) -> JSONValue {
        switch value {
        case .bool(let value): .bool(value)
        case .int32(let value): .int(Int64(value))
        case .double(let value): .double(value)
        case .string(let value): .string(value)
        case .null: .null
        }
    }

    static func rawText(_ value: VariableValue) -> String {
        if case .string(let text) = value { return text }
        return json(value).serialized
    }
}
