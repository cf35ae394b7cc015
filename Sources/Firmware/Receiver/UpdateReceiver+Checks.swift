import Crypto

extension UpdateReceiver {
    /// The device's check of a complete file before it applies it (Device OS
    /// `HAL_FLASH_OTA_Validate` with integrity and dependencies): each module's CRC-32 and its
    /// suffix SHA-256 (which Device OS itself does not check), and the platform. Returns the
    /// system error it would report, or the firmware.
    func check(_ image: [UInt8]) -> Result<ValidatedFirmware, ReceiverFailure> {
        let modules: [FirmwareModule]
        do {
            modules = try FirmwareModule.modules(in: image)
        } catch {
            return .failure(ReceiverFailure(code: -1370, message: "Invalid format: \(error)"))
        }
        for module in modules {
            let crcRange = module.offset..<(module.offset + module.length - 4)
            let stored = image[crcRange.upperBound..<module.range.upperBound].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            guard CRC32.checksum(image[crcRange]) == stored else {
                return .failure(ReceiverFailure(code: -1330, message: "CRC check failed"))
            }
            let shaEnd = module.offset + module.length - 38
            guard Array(SHA256.hash(data: image[module.offset..<shaEnd])) == Array(image[shaEnd..<(shaEnd + 32)]) else {
                return .failure(ReceiverFailure(code: -1330, message: "SHA-256 check failed"))
            }
            guard module.platformID == self.configuration.platformID else {
                return .failure(ReceiverFailure(code: -1360, message: "Invalid platform"))
            }
        }
        var sha = SHA256()
        sha.update(data: image)
        return .success(ValidatedFirmware(modules: modules, size: image.count, fileSHA256: Array(sha.finalize())))
    }
}
