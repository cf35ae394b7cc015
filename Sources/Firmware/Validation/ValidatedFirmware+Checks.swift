import Crypto

extension ValidatedFirmware {
    /// Validates `image` for `device`, in this order, and throws the first failure:
    ///
    /// 1. at least 64 bytes;
    /// 2. a module prefix at one of the offsets the tools search, with start < end, a length that
    ///    fills the file (or, for combined modules, the modules fill it back to back), a function,
    ///    and empty dependency slots zeroed;
    /// 3. each module's CRC-32;
    /// 4. each suffix size within 36 … length − 28, and each suffix SHA-256 (the device does not
    ///    check it, but a mismatch means a corrupted or hand-edited file);
    /// 5. each module built for the device's platform;
    /// 6. module functions that fit `purpose`;
    /// 7. every dependency met by a module of the device's last system Describe or of the same
    ///    file with the same function and index and at least the required version (else the
    ///    device runs the module in safe mode);
    /// 8. the size within the device's maximum binary size;
    /// 9. compressed or combined modules only for a device that accepts them; never encrypted
    ///    modules or modules for protected devices.
    ///
    /// Checks 5–9 need `device`; without one (a product upload not yet aimed at a device) only 1–4
    /// and 6 run. The image is read in 64 KiB pieces, once; pass the ``UploadDigest/Result`` of
    /// the upload as `digest` and a single-module file is not read again beyond its prefix and
    /// suffix.
    ///
    /// Sources: binary-version-reader `HalModuleParser.js` (`_validateModulePrefix`,
    /// `_validateCRC`, `_readSuffix`), Device OS `system/src/firmware_update.cpp` (size),
    /// `system/src/system_cloud_internal.cpp` (compressed OTA flag), particle-cli
    /// `src/lib/flash-helper.js` (protected devices).
    ///
    /// - Throws: ``FirmwareError``.
    public init(
        validating image: some FirmwareImage,
        for device: DeviceProfile?,
        purpose: ModulePurpose = .application,
        digest: UploadDigest.Result? = nil
    ) throws(FirmwareError) {
        let modules = try FirmwareModule.modules(in: image)
        let sums: Checksums
        if let digest, digest.count == image.count, modules.count == 1 {
            sums = Checksums(crcs: [digest.crc32], shas: [digest.moduleSHA256], file: digest.fileSHA256)
        } else {
            sums = try Self.checksums(of: image, modules: modules)
        }
        let count = modules.count
        for (number, module) in modules.enumerated() where sums.crcs[number] != module.storedCRC {
            throw .crcMismatch(stored: module.storedCRC, computed: sums.crcs[number], module: number + 1, of: count)
        }
        for (number, module) in modules.enumerated() {
            let maximum = module.length - 28
            guard (ModuleSuffix.minimumSize...maximum).contains(module.suffix.size) else {
                throw .invalidSuffixSize(module.suffix.size, maximum: maximum)
            }
            guard sums.shas[number] == module.suffix.sha256 else {
                throw .shaMismatch(
                    stored: module.suffix.sha256,
                    computed: sums.shas[number],
                    module: number + 1,
                    of: count
                )
            }
        }
        if let device {
            for module in modules where module.platformID != device.platformID {
                throw .platformMismatch(file: module.platformID, device: device.platformID)
            }
        }
        try Self.checkFunctions(modules, purpose: purpose, platform: device?.platformID)
        if let device {
            try Self.checkDependencies(modules, installed: device.installedModules)
            if let maximum = device.maximumBinarySize, image.count > maximum {
                throw .tooLarge(size: image.count, maximum: maximum)
            }
            try Self.checkFlags(modules, device: device)
        }
        self.init(modules: modules, size: image.count, fileSHA256: sums.file)
    }

    /// Check 6: the functions `purpose` allows.
    private static func checkFunctions(_ modules: [FirmwareModule], purpose: ModulePurpose, platform: UInt16?)
        throws(FirmwareError)
    {
        switch purpose {
        case .application:
            let runnable: (FirmwareModule) -> Bool = {
                $0.function == .userPart || $0.function == .monolithicFirmware
            }
            if let platform, platform != Platform.virtualDevice,
                modules.contains(where: { $0.function == .monolithicFirmware })
            {
                throw .monolithicNotVirtual(platform: platform)
            }
            // A combined file may carry Device OS parts along with the application, never
            // without it.
            let allowed: (FirmwareModule) -> Bool = { runnable($0) || (modules.count > 1 && $0.function.isDeviceOS) }
            if let offending = modules.first(where: { !allowed($0) }) { throw .notApplication(offending.function) }
            guard modules.contains(where: runnable) else { throw .notApplication(modules[0].function) }
        case .deviceOS:
            for module in modules where !module.function.isDeviceOS {
                throw .notDeviceOS(module.function)
            }
        }
    }

    /// Check 7: each dependency met by the device or by a module of the same file.
    private static func checkDependencies(_ modules: [FirmwareModule], installed: [InstalledModule]?)
        throws(FirmwareError)
    {
        guard let installed else { return }
        for module in modules {
            for dependency in module.dependencies {
                let shipped = modules.contains {
                    $0.function == dependency.function && $0.index == dependency.index
                        && $0.version >= dependency.version
                }
                if shipped { continue }
                let present = installed.filter { $0.function == dependency.function && $0.index == dependency.index }
                guard present.contains(where: { $0.version >= dependency.version }) else {
                    throw .unmetDependency(dependency, installed: present.map(\.version).max())
                }
            }
        }
    }

    /// Check 9: flags the device cannot take.
    private static func checkFlags(_ modules: [FirmwareModule], device: DeviceProfile) throws(FirmwareError) {
        for module in modules {
            if module.flags.contains(.encrypted) { throw .encrypted }
            let extensions = module.prefixExtensions + module.suffix.extensions
            if extensions.contains(where: { $0.type == ModuleExtension.securityMode }) { throw .protectedDevice }
        }
        if modules.contains(where: { $0.flags.contains(.compressed) }), !device.acceptsCompressedModules {
            throw .compressedNotAccepted
        }
        if modules.count > 1, !device.acceptsCompressedModules { throw .combinedNotAccepted }
    }

    /// Per-module CRC-32 and suffix SHA-256 and the file's SHA-256, from one pass over the image.
    struct Checksums {
        var crcs: [UInt32]
        var shas: [[UInt8]]
        var file: [UInt8]
    }

    /// The size of the pieces the image is read in.
    static let readSize = 64 * 1024

    private static func checksums(of image: some FirmwareImage, modules: [FirmwareModule]) throws(FirmwareError)
        -> Checksums
    {
        var file = SHA256()
        var sums = Checksums(crcs: [], shas: [], file: [])
        for module in modules {
            var crc = CRC32()
            var sha = SHA256()
            var position = module.offset
            while position < module.range.upperBound {
                let end = min(position + Self.readSize, module.range.upperBound)
                let piece = try image.bytes(in: position..<end)
                file.update(data: piece)
                // Slice indices are the image's own (an array's) or start at 0 (a file's).
                let base = piece.startIndex
                let crcCount = min(end, module.crcRange.upperBound) - position
                if crcCount > 0 { crc.update(piece[base..<(base + crcCount)]) }
                let shaCount = min(end, module.shaRange.upperBound) - position
                if shaCount > 0 { sha.update(data: piece[base..<(base + shaCount)]) }
                position = end
            }
            sums.crcs.append(crc.value)
            sums.shas.append(Array(sha.finalize()))
        }
        sums.file = Array(file.finalize())
        return sums
    }
}
