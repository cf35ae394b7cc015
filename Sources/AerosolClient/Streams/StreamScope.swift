/// Which event stream to open.
public enum StreamScope: Sendable, Hashable {
    /// The caller's events: `/v1/devices/events`.
    case mine
    /// One device: `/v1/devices/:idOrName/events`.
    case device(String)
    /// A product's events: `/v1/products/:idOrSlug/events`.
    case product(String)
    /// One device of a product: `/v1/products/:p/devices/:id/events`.
    case productDevice(product: String, device: String)

    /// The path for this scope and an optional name prefix (encoded as particle-api-js does).
    func path(prefix: String?) -> String {
        var path: String
        switch self {
        case .mine: path = "/v1/devices/events"
        case .device(let device): path = "/v1/devices/\(AerosolClient.segment(device))/events"
        case .product(let product): path = "/v1/products/\(AerosolClient.segment(product))/events"
        case .productDevice(let product, let device):
            path = "/v1/products/\(AerosolClient.segment(product))/devices/\(AerosolClient.segment(device))/events"
        }
        if let prefix, !prefix.isEmpty { path += "/" + AerosolClient.segment(prefix) }
        return path
    }
}
