import Crypto
import Firmware
import Foundation
import Testing

/// Every check of an uploaded application, in order, with its exact message.
@Suite struct ValidationTests {
    static let argon = DeviceProfile(
        platformID: 12,
        helloFlags: 0x00F6,
        maximumBinarySize: 1_536_000,
        installedModules: [
            InstalledModule(function: .bootloader, index: 0, version: 2300),
            InstalledModule(function: .systemPart, index: 1, version: 5800),
        ]
    )

    private func message(
        _ image: [UInt8],
        for device: DeviceProfile? = Self.argon,
        purpose: ModulePurpose = .application
    )
        -> String?
    {
        do {
            _ = try ValidatedFirmware(validating: image, for: device, purpose: purpose)
            return nil
        } catch {
            return error.description
        }
    }

    @Test func aGoodModulePasses() throws {
        let firmware = try ValidatedFirmware(validating: ModuleFormatTests.vector, for: Self.argon)
        #expect(firmware.size == 84)
        #expect(firmware.fileSHA256 == Array(SHA256.hash(data: ModuleFormatTests.vector)))
        #expect(firmware.primaryModule.function == .userPart)
        #expect(firmware.productVersion == 3)
        #expect(!firmware.isCombined)
        #expect(!firmware.isCompressed)
    }

    @Test func check1TooShort() {
        #expect(
            self.message([UInt8](repeating: 0, count: 40))
                == "Truncated: the file is 40 bytes, a firmware module has at least 64 "
                + "(a 24-byte prefix, a 36-byte suffix and a 4-byte CRC-32)"
        )
    }

    @Test func check2NoPrefix() {
        #expect(
            self.message([UInt8](repeating: 0, count: 200))
                == "The file is not a Particle firmware module: no module prefix"
        )
        #expect(
            self.message(Array("#!/bin/sh\necho this is not firmware, it is long enough to be looked at\n".utf8))
                == "The file is not a Particle firmware module: no module prefix"
        )
    }

    @Test func check2TruncatedAndTrailing() {
        let vector = ModuleFormatTests.vector
        #expect(
            self.message(Array(vector.dropLast(4)))
                == "Truncated: the prefix of module 1 declares 84 bytes, the file has 80"
        )
        #expect(
            self.message(vector + [0, 0, 0, 0, 0, 0, 0, 0])
                == "Not a single firmware module: its prefix declares 84 bytes, the file has 92"
        )
    }

    @Test func check2EmptyDependencySlotsMustBeZero() {
        var builder = ModuleBuilder()
        builder.dependencies = [(4, 1, 5800), (0, 3, 100)]
        #expect(
            self.message(builder.build())
                == "Invalid module prefix: dependency 2 has no module function but index 3 and version 100"
        )
    }

    @Test func check3CRC() {
        var bytes = ModuleFormatTests.vector
        bytes[30] ^= 0xFF
        let computed = CRC32.checksum(bytes[0..<80])
        let expected = "CRC-32 mismatch: stored 0x3e0b6be0, computed " + "0x" + String(computed, radix: 16)
        #expect(computed != 0x3E0B_6BE0)
        #expect(String(computed, radix: 16).count == 8)
        #expect(self.message(bytes) == expected)
    }

    @Test func check4SuffixSize() {
        var builder = ModuleBuilder()
        builder.suffixSizeOverride = 30
        #expect(self.message(builder.build()) == "Invalid module suffix: suffix size 30, expected 36 to 56")
        builder.suffixSizeOverride = 57
        #expect(self.message(builder.build()) == "Invalid module suffix: suffix size 57, expected 36 to 56")
    }

    @Test func check4SHA() {
        var builder = ModuleBuilder()
        builder.shaOverride = [UInt8](repeating: 0xAB, count: 32)
        #expect(
            self.message(builder.build())
                == "SHA-256 mismatch: stored " + String(repeating: "ab", count: 32)
                + ", computed a9e113affa379f1d93b0881176b7689cf8e1e033b9ae1a32d961591a053c8fb4"
        )
    }

    @Test func check5Platform() {
        let photon = DeviceProfile(platformID: 6)
        #expect(
            self.message(ModuleFormatTests.vector, for: photon)
                == "Platform mismatch: the file is for platform 12 (Argon), the device is platform 6 (Photon)"
        )
    }

    @Test func check6Function() {
        var system = ModuleBuilder()
        system.function = 4
        system.dependencies = [(0, 0, 0), (0, 0, 0)]
        #expect(self.message(system.build()) == "Not an application module: module function 4 (system part)")
        #expect(
            self.message(ModuleFormatTests.vector, purpose: .deviceOS)
                == "Not a Device OS module: module function 5 (user part)"
        )
        #expect(self.message(system.build(), purpose: .deviceOS) == nil)

        var monolithic = ModuleBuilder()
        monolithic.function = 3
        monolithic.index = 0
        monolithic.dependencies = [(0, 0, 0), (0, 0, 0)]
        #expect(
            self.message(monolithic.build())
                == "Not an application module: module function 3 (monolithic firmware) runs only on the "
                + "virtual device (platform 3), not on platform 12 (Argon)"
        )
        monolithic.platformID = 3
        #expect(self.message(monolithic.build(), for: DeviceProfile(platformID: 3)) == nil)
    }

    @Test func check7Dependencies() {
        var older = Self.argon
        older.installedModules = [InstalledModule(function: .systemPart, index: 1, version: 5500)]
        #expect(
            self.message(ModuleFormatTests.vector, for: older)
                == "Unmet dependency: the module needs system part 1 version 5800 or later, the device has "
                + "version 5500 (it would run the module in safe mode)"
        )
        older.installedModules = [InstalledModule(function: .bootloader, index: 0, version: 2300)]
        #expect(
            self.message(ModuleFormatTests.vector, for: older)
                == "Unmet dependency: the module needs system part 1 version 5800 or later, the device has "
                + "none (it would run the module in safe mode)"
        )
        // A device that has not described itself yet: not checked.
        older.installedModules = nil
        #expect(self.message(ModuleFormatTests.vector, for: older) == nil)
    }

    @Test func check8Size() {
        var small = Self.argon
        small.maximumBinarySize = 80
        #expect(
            self.message(ModuleFormatTests.vector, for: small)
                == "Too large: 84 bytes > 80 bytes, the device's maximum binary size"
        )
    }

    @Test func check9Flags() {
        var compressed = ModuleBuilder()
        compressed.flags = 0x02
        compressed.afterPrefix = hex("0800 00 00 00100000")
        var gen2 = Self.argon
        gen2.helloFlags = 0x0036
        #expect(
            self.message(compressed.build(), for: gen2)
                == "Compressed module: the device does not accept compressed firmware "
                + "(Device OS 2.0.0 or later with a matching bootloader on Gen 3 or later)"
        )
        #expect(self.message(compressed.build()) == nil)

        var encrypted = ModuleBuilder()
        encrypted.flags = 0x08
        #expect(self.message(encrypted.build()) == "Encrypted modules are not supported")

        var protected = ModuleBuilder()
        protected.flags = 0x10
        protected.afterPrefix = hex("1300 0800 01 000000") + hex("0000 0400")
        #expect(
            self.message(protected.build())
                == "Modules for protected devices (security mode extension) are not supported"
        )
    }

    @Test func combinedModules() throws {
        var system = ModuleBuilder()
        system.flags = 0x04
        system.function = 4
        system.moduleVersion = 5900
        system.dependencies = [(2, 0, 2300), (0, 0, 0)]
        system.body = [UInt8](repeating: 0x77, count: 100)
        var app = ModuleBuilder()
        app.dependencies = [(4, 1, 5900), (0, 0, 0)]
        let image = system.build() + app.build()
        // The application's dependency is met by the system part shipped with it.
        let firmware = try ValidatedFirmware(validating: image, for: Self.argon)
        #expect(firmware.isCombined)
        #expect(firmware.primaryModule.function == .userPart)
        #expect(firmware.primaryModule.offset == system.build().count)
        var gen2 = Self.argon
        gen2.helloFlags = 0x0036
        #expect(
            self.message(image, for: gen2)
                == "Combined module: the device does not accept combined firmware "
                + "(Device OS 2.0.0 or later with a matching bootloader on Gen 3 or later)"
        )
        // A bad CRC in the second module names it.
        var broken = image
        broken[image.count - 50] ^= 1
        #expect(self.message(broken)?.hasSuffix(" (module 2 of 2)") == true)
        #expect(self.message(broken)?.hasPrefix("CRC-32 mismatch: stored ") == true)
        // Device OS parts alone are not an application.
        var lone = system
        lone.flags = 0
        var radio = ModuleBuilder()
        radio.flags = 0x04
        radio.function = 8
        radio.dependencies = [(0, 0, 0), (0, 0, 0)]
        #expect(
            self.message(radio.build() + lone.build()) == "Not an application module: module function 8 (radio stack)"
        )
    }

    @Test func checksRunInOrder() {
        // Wrong CRC and wrong platform: the CRC is reported.
        var bytes = ModuleFormatTests.vector
        bytes[20] = 0x01  // dependency 2 function: now "resource 0 ≥ 0", a valid prefix
        #expect(self.message(bytes, for: DeviceProfile(platformID: 6))?.hasPrefix("CRC-32 mismatch") == true)
        // Fixed checksums, wrong platform and too large: the platform is reported.
        var small = DeviceProfile(platformID: 6)
        small.maximumBinarySize = 10
        #expect(self.message(ModuleFormatTests.vector, for: small)?.hasPrefix("Platform mismatch") == true)
    }

    @Test func aFileOnDiskValidatesAlike() throws {
        let image = ModuleBuilder.application(size: 200_000)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent(
            "firmware-\(UInt64.random(in: 0...UInt64.max)).bin"
        ).path
        #expect(FileManager.default.createFile(atPath: path, contents: Data(image)))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let file = try FirmwareFile(path: path)
        #expect(file.count == image.count)
        let fromDisk = try ValidatedFirmware(validating: file, for: Self.argon)
        let inMemory = try ValidatedFirmware(validating: image, for: Self.argon)
        #expect(fromDisk == inMemory)
        #expect(Array(try file.bytes(in: 1000..<1010)) == Array(image[1000..<1010]))
        #expect(throws: FirmwareError.self) { try file.bytes(in: 199_990..<200_001) }
        #expect(throws: FirmwareError.self) { try FirmwareFile(path: path + ".missing") }
    }

    @Test func anUploadDigestSavesTheSecondRead() throws {
        let image = ModuleBuilder.application(size: 70_000)
        var generator = SplitMix64(seed: 3)
        var digest = UploadDigest()
        var position = 0
        while position < image.count {
            let end = min(image.count, position + Int.random(in: 1...3000, using: &generator))
            digest.append(image[position..<end])
            position = end
        }
        let result = digest.result
        #expect(result.count == image.count)
        #expect(result.fileSHA256 == Array(SHA256.hash(data: image)))
        #expect(result.crc32 == CRC32.checksum(image[0..<(image.count - 4)]))
        #expect(result.moduleSHA256 == Array(SHA256.hash(data: image[0..<(image.count - 38)])))
        let validated = try ValidatedFirmware(validating: image, for: Self.argon, digest: result)
        #expect(validated == (try ValidatedFirmware(validating: image, for: Self.argon)))
        // A digest of other bytes is caught: it is trusted for the checksums, so a corrupted
        // upload digest shows as a mismatch, not as a pass.
        var other = UploadDigest()
        var changed = image
        changed[500] ^= 1
        other.append(changed)
        #expect(throws: FirmwareError.self) {
            try ValidatedFirmware(validating: image, for: Self.argon, digest: other.result)
        }
    }

    @Test func installedModulesFromDescribeValues() {
        let module = InstalledModule(
            describeFunction: "u",
            index: "1",
            version: 6,
            hash: "A9E113AFFA379F1D93B0881176B7689CF8E1E033B9AE1A32D961591A053C8FB4",
            validationsPerformed: 30,
            validationsPassed: 26
        )
        #expect(module?.function == .userPart)
        #expect(module?.hash == hex("a9e113affa379f1d93b0881176b7689cf8e1e033b9ae1a32d961591a053c8fb4"))
        #expect(module?.isValid == false)
        #expect(InstalledModule(describeFunction: "q", index: "1", version: 6) == nil)
        #expect(InstalledModule(describeFunction: "u", index: "1", version: 6, hash: "xyz") == nil)
    }
}
