import AerosolModels
import AerosolStore
import Hummingbird

extension Cloud {
    /// The product named by `idOrSlug` if the caller is a member: 404 if there is no such
    /// product, 403 if the caller is not a member.
    func product(_ idOrSlug: String, for caller: Caller) async throws -> Product {
        guard let product = try await products.find(idOrSlug: idOrSlug) else {
            throw APIError.notFound("Product not found")
        }
        guard try await products.isMember(productID: product.id, userID: caller.userID) else {
            throw APIError.resource(
                .forbidden,
                "Permission Denied",
                info: "You are not a member of product \(idOrSlug)"
            )
        }
        return product
    }

    /// The caller's device with this id or name, or a device of a product the caller belongs
    /// to; otherwise the spec's 403 Permission Denied.
    func device(_ idOrName: String, for caller: Caller) async throws -> Device {
        if let device = try await devices.find(idOrName: idOrName, ownerID: caller.userID) {
            return device
        }
        let id = idOrName.lowercased()
        if Device.isValidID(id), let device = try await devices.find(id: id), let productID = device.productID,
            try await products.isMember(productID: productID, userID: caller.userID)
        {
            return device
        }
        throw APIError.permissionDenied(baseURL: baseURL)
    }

    /// A device of `product` by id (product routes take ids only): 400 for a malformed id, 404
    /// when the product has no such device.
    func productDevice(_ rawID: String, in product: Product) async throws -> Device {
        let id = rawID.lowercased()
        guard Device.isValidID(id) else {
            throw APIError.badRequest("\(rawID) is not a device ID (24 hex characters)")
        }
        guard let device = try await devices.find(id: id), device.productID == product.id else {
            throw APIError.notFound("Device \(id) is not in product \(product.slug)")
        }
        return device
    }
}

extension Parameters {
    /// A path parameter, percent-decoded (the router matches raw path segments).
    func decoded(_ name: String) throws -> String {
        let raw = try require(name)
        return raw.removingPercentEncoding ?? raw
    }
}
