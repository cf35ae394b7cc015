import AerosolModels
import AerosolStore
import DeviceGateway
import Foundation
import Hummingbird

/// `/v1/products…`: products, their members and their devices.
struct ProductRoutes {
    let cloud: Cloud

    func register(_ routes: RouteRegistrar) {
        routes.on(.post, "/v1/products", .caller) { request, context in
            let caller = try context.caller
            let fields = context.fields
            guard let name = fields.string("name"), !name.isEmpty else {
                throw APIError.badRequest("name is required")
            }
            let product = try await cloud.products.create(
                name: name,
                slug: fields.string("slug"),
                description: fields.string("description") ?? "",
                platformID: try fields.int("platform_id"),
                creatorID: caller.userID
            )
            return .json(.object([("product", product.json)]))
        }
        routes.on(.get, "/v1/products", .caller) { request, context in
            let caller = try context.caller
            let products = try await cloud.products.list(memberID: caller.userID)
            return .json(.object([("products", .array(products.map(\.json)))]))
        }
        routes.on(.get, "/v1/products/:product", .caller) { request, context in
            let caller = try context.caller
            let product = try await cloud.product(try context.parameters.decoded("product"), for: caller)
            return .json(.object([("product", product.json)]))
        }
        routes.on(.post, "/v1/products/:product/devices", .caller) { request, context in
            let caller = try context.caller
            let fields = context.fields
            let product = try await cloud.product(try context.parameters.decoded("product"), for: caller)
            let ids = fields.list("ids") + fields.list("id")
            guard !ids.isEmpty else {
                throw APIError.badRequest("ids is required: a list of device IDs (24 hex characters)")
            }
            guard ids.count <= 1000 else { throw APIError.badRequest("at most 1000 device IDs per request") }
            let result = try await cloud.devices.add(
                ids: ids.map { $0.lowercased() },
                toProduct: product.id,
                by: caller.userID
            )
            cloud.gateway.scopeChanged(deviceIDs: result.updated)
            let strings = { (ids: [String]) in JSONValue.array(ids.map { .string($0) }) }
            return .json(
                .object([
                    ("updated", .int(Int64(result.updated.count))),
                    ("updatedDeviceIds", strings(result.updated)),
                    ("existingDeviceIds", strings(result.existing)),
                    ("nonmemberDeviceIds", strings(result.nonmember)),
                    ("invalidDeviceIds", strings(result.invalid)),
                ])
            )
        }
        routes.on(.get, "/v1/products/:product/devices", .caller) { request, context in
            let caller = try context.caller
            let product = try await cloud.product(try context.parameters.decoded("product"), for: caller)
            let query = request.uri.queryParameters
            let page = try Self.integer(query.get("page"), name: "page", range: 1...1_000_000) ?? 1
            let perPage = try Self.integer(query.get("per_page"), name: "per_page", range: 1...100) ?? 25
            let listing = try await cloud.devices.list(
                productID: product.id,
                page: page,
                perPage: perPage,
                deviceID: query.get("deviceId")?.lowercased(),
                nameContains: query.get("deviceName")
            )
            let totalPages = max(1, (listing.total + perPage - 1) / perPage)
            return .json(
                .object([
                    ("devices", .array(listing.devices.map(\.productJSON))),
                    ("customers", .array([])),
                    (
                        "meta",
                        .object([
                            ("page", .int(Int64(page))),
                            ("per_page", .int(Int64(perPage))),
                            ("total_pages", .int(Int64(totalPages))),
                            ("total", .int(Int64(listing.total))),
                        ])
                    ),
                ])
            )
        }
        routes.on(.get, "/v1/products/:product/devices/:device", .caller) { request, context in
            let caller = try context.caller
            let product = try await cloud.product(try context.parameters.decoded("product"), for: caller)
            let device = try await cloud.productDevice(try context.parameters.decoded("device"), in: product)
            return .json(device.productJSON)
        }
        routes.on(.delete, "/v1/products/:product/devices/:device", .caller) { request, context in
            let caller = try context.caller
            let product = try await cloud.product(try context.parameters.decoded("product"), for: caller)
            let device = try await cloud.productDevice(try context.parameters.decoded("device"), in: product)
            try await cloud.devices.remove(id: device.id, fromProduct: product.id)
            cloud.gateway.scopeChanged(deviceIDs: [device.id])
            return Response(status: .noContent)
        }
    }

    static func integer(_ text: String?, name: String, range: ClosedRange<Int>) throws -> Int? {
        guard let text else { return nil }
        guard let value = Int(text), range.contains(value) else {
            throw APIError.badRequest("\(name) must be an integer from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }
}
