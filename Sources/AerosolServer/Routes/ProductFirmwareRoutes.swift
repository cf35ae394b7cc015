import AerosolModels
import AerosolStore
import DeviceGateway
import Firmware
import Foundation
import Hummingbird

/// `/v1/products/:product/firmware…`: upload, list, show, release and delete product firmware.
/// The binaries live in the data directory under `firmware/` by SHA-256 (and, on PostgreSQL, in
/// the database for the other nodes); the database holds their metadata.
struct ProductFirmwareRoutes {
    let cloud: Cloud

    func register(_ routes: RouteRegistrar) {
        routes.on(.post, "/v1/products/:product/firmware", .caller) { request, context in
            let caller = try context.caller
            let product = try await cloud.product(try context.parameters.decoded("product"), for: caller)
            guard FirmwareUpload.isMultipart(request) else {
                throw APIError.badRequest("Send the binary as multipart/form-data with file, version and title")
            }
            let upload = try await FirmwareUpload.receive(
                request,
                limit: cloud.configuration.maxFirmwareBytes,
                directory: cloud.configuration.dataDirectory + "/firmware/uploads",
                keepIn: cloud.firmwareFiles.directory
            )
            guard let text = upload.fields["version"], let version = Int(text), (1...65_535).contains(version) else {
                throw APIError.badRequest("version is required: the product firmware version, 1 to 65535")
            }
            guard let title = upload.fields["title"], !title.isEmpty else {
                throw APIError.badRequest("title is required")
            }
            let validated: ValidatedFirmware
            do {
                validated = try ValidatedFirmware(validating: upload.file, for: nil)
            } catch let error as FirmwareError {
                throw APIError.badRequest(error.description)
            }
            if let platform = product.platformID, let module = validated.modules.first,
                Int(module.platformID) != platform
            {
                throw APIError.badRequest(
                    "Platform mismatch: the file is for platform \(module.platformID), the product is platform \(platform)"
                )
            }
            if let built = validated.productVersion, Int(built) != version {
                throw APIError.badRequest(
                    "Version mismatch: the binary's PRODUCT_VERSION is \(built), the upload says \(version)"
                )
            }
            let firmware = ProductFirmware(
                productID: product.id,
                version: version,
                title: title,
                description: upload.fields["description"] ?? "",
                size: validated.size,
                fileSHA256: upload.sha256 ?? "",
                uploadedAt: Date()
            )
            // Every node can flash it: stored in the database first on PostgreSQL.
            try await cloud.firmwareFiles.share(firmware.fileSHA256)
            try await cloud.productFirmware.create(firmware)
            _ = try await cloud.log.append(
                EventDraft(
                    name: "particle/firmware/create",
                    data: #"{"version":"\#(version)"}"#,
                    coreID: "api",
                    userID: nil,
                    productID: product.id
                ),
                source: .cloud
            )
            return .json(Self.json(firmware))
        }
        routes.on(.put, "/v1/products/:product/devices/:device", .caller) { request, context in
            // A multipart body flashes the device, as `PUT /v1/devices/:device` does (product
            // routes mirror the sandbox ones, the device by ID only).
            guard FirmwareUpload.isMultipart(request) else { return try await Self.setTarget(context, cloud: cloud) }
            let caller = try context.caller
            let product = try await cloud.product(try context.parameters.decoded("product"), for: caller)
            let device = try await cloud.productDevice(try context.parameters.decoded("device"), in: product)
            return try await DeviceRoutes.flash(request, device: device, cloud: cloud)
        }
        routes.on(.get, "/v1/products/:product/firmware", .caller) { request, context in
            let caller = try context.caller
            let product = try await cloud.product(try context.parameters.decoded("product"), for: caller)
            let versions = try await cloud.productFirmware.list(productID: product.id)
            return .json(.array(versions.map(Self.json)))
        }
        routes.on(.put, "/v1/products/:product/firmware/release", .caller) { request, context in
            let caller = try context.caller
            let product = try await cloud.product(try context.parameters.decoded("product"), for: caller)
            guard let version = try context.fields.int("version") else {
                throw APIError.badRequest("version is required")
            }
            guard try context.fields.bool("product_default") == true else {
                throw APIError.badRequest("Only product_default releases are supported: send product_default=true")
            }
            guard try await cloud.productFirmware.release(productID: product.id, version: version, at: Date()) else {
                throw APIError.notFound("Firmware version \(version) not found")
            }
            _ = try await cloud.log.append(
                EventDraft(
                    name: "particle/firmware/release",
                    data: #"{"immediate":true,"version":\#(version)}"#,
                    coreID: "api",
                    userID: nil,
                    productID: product.id
                ),
                source: .cloud
            )
            return .json(.object([("ok", .bool(true)), ("version", .int(version)), ("product_default", .bool(true))]))
        }
        routes.on(.get, "/v1/products/:product/firmware/:version", .caller) { request, context in
            let caller = try context.caller
            let product = try await cloud.product(try context.parameters.decoded("product"), for: caller)
            let version = try Self.version(context)
            guard let firmware = try await cloud.productFirmware.find(productID: product.id, version: version) else {
                throw APIError.notFound("Firmware version \(version) not found")
            }
            return .json(Self.json(firmware))
        }
        routes.on(.delete, "/v1/products/:product/firmware/:version", .caller) { request, context in
            let caller = try context.caller
            let product = try await cloud.product(try context.parameters.decoded("product"), for: caller)
            let version = try Self.version(context)
            let firmware = try await cloud.productFirmware.find(productID: product.id, version: version)
            guard let firmware, try await cloud.productFirmware.delete(productID: product.id, version: version) else {
                throw APIError.notFound("Firmware version \(version) not found")
            }
            // The database's copy goes unless another version is the same file (this node's file
            // stays, as on a single server: it is small and may be uploaded again).
            try await cloud.firmwareFiles.discard(firmware.fileSHA256)
            return .ok
        }
    }

    /// `PUT /v1/products/:product/devices/:device`: lock the device to a firmware version
    /// (`desired_firmware_version`, `null` unlocks; `flash: true` sends it now if the device is
    /// connected) and set `development` (never updated automatically).
    static func setTarget(_ context: CloudRequestContext, cloud: Cloud) async throws -> Response {
        let caller = try context.caller
        let product = try await cloud.product(try context.parameters.decoded("product"), for: caller)
        let device = try await cloud.productDevice(try context.parameters.decoded("device"), in: product)
        let fields = context.fields
        guard fields.has("desired_firmware_version") || fields.has("development") || fields.has("flash") else {
            throw APIError.badRequest("Nothing to update: send desired_firmware_version, development or flash")
        }
        var target = try await cloud.productFirmware.target(deviceID: device.id)
        if fields.has("desired_firmware_version") {
            if let version = try fields.int("desired_firmware_version") {
                guard try await cloud.productFirmware.find(productID: product.id, version: version) != nil else {
                    throw APIError.notFound("Firmware version \(version) not found")
                }
                target.desiredVersion = version
            } else {
                target.desiredVersion = nil
            }
        }
        if fields.has("development") { target.development = try fields.bool("development") ?? false }
        try await cloud.productFirmware.setTarget(
            deviceID: device.id,
            desiredVersion: target.desiredVersion,
            development: target.development
        )
        if try fields.bool("flash") == true, let version = target.desiredVersion,
            let firmware = try await cloud.productFirmware.find(productID: product.id, version: version)
        {
            do {
                let file = try FirmwareFile(path: try await cloud.firmwareFiles.path(firmware.fileSHA256))
                try await cloud.gateway.flash(file, deviceID: device.id)
            } catch let error as FirmwareError {
                throw APIError.badRequest(error.description)
            } catch let error as GatewayError where error == .busy("") {
                throw APIError.resource(.conflict, "An update to this device is already in progress")
            } catch is GatewayError {
                // Not connected: it gets the version when it connects.
            }
        }
        return .json(
            .object([
                ("id", .string(device.id)),
                ("desired_firmware_version", .int(target.desiredVersion)),
                ("development", .bool(target.development)),
                ("updated_at", .timestamp(Date())),
            ])
        )
    }

    static func version(_ context: CloudRequestContext) throws -> Int {
        let text = try context.parameters.decoded("version")
        guard let version = Int(text), (1...65_535).contains(version) else {
            throw APIError.badRequest("\(text) is not a firmware version (1 to 65535)")
        }
        return version
    }

    /// Particle's `ProductFirmwareInfo`.
    static func json(_ firmware: ProductFirmware) -> JSONValue {
        .object([
            ("version", .int(firmware.version)),
            ("title", .string(firmware.title)),
            ("description", .string(firmware.description)),
            ("size", .int(firmware.size)),
            ("device_count", .int(0)),
            ("current", .bool(firmware.isProductDefault)),
            ("product_default", .bool(firmware.isProductDefault)),
            ("uploaded_at", .timestamp(firmware.uploadedAt)),
            ("released_at", .timestamp(firmware.releasedAt)),
        ])
    }
}
