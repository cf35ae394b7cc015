import Crypto
import Firmware
import Testing

/// The module layout: prefix, suffix, checksums, prefix location, extensions, compressed and
/// combined modules.
@Suite struct ModuleFormatTests {
    /// The 84-byte synthetic vector, written out from the layout (not from the builder).
    static let vector = hex(
        """
        00400b00 50400b00 00 00 0600 0c00 05 01 04 01 a816 00 00 0000
        aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
        0c00 0300 0000
        a9e113affa379f1d93b0881176b7689cf8e1e033b9ae1a32d961591a053c8fb4
        2800
        3e0b6be0
        """
    )

    @Test func theBuilderReproducesTheSyntheticVector() {
        #expect(ModuleBuilder().build() == Self.vector)
        // And the vector's SHA-256 and CRC-32 are those of the standard algorithms.
        #expect(Array(SHA256.hash(data: Self.vector[0..<46])) == Array(Self.vector[46..<78]))
        #expect(CRC32.checksum(Self.vector[0..<80]) == 0x3E0B_6BE0)
    }

    @Test func theVectorParses() throws {
        let modules = try FirmwareModule.modules(in: Self.vector)
        #expect(modules.count == 1)
        let module = modules[0]
        #expect(module.offset == 0)
        #expect(module.length == 84)
        #expect(module.prefixOffset == 0)
        #expect(module.startAddress == 0x000B_4000)
        #expect(module.endAddress == 0x000B_4050)
        #expect(module.flags == [])
        #expect(module.version == 6)
        #expect(module.platformID == 12)
        #expect(module.function == .userPart)
        #expect(module.index == 1)
        #expect(module.dependencies == [ModuleDependency(function: .systemPart, index: 1, version: 5800)])
        #expect(module.dependencySlots.count == 2)
        #expect(module.suffix.size == 40)
        #expect(module.suffix.productID == 12)
        #expect(module.suffix.productVersion == 3)
        #expect(module.suffix.sha256 == hex("a9e113affa379f1d93b0881176b7689cf8e1e033b9ae1a32d961591a053c8fb4"))
        #expect(module.hashHex == "a9e113affa379f1d93b0881176b7689cf8e1e033b9ae1a32d961591a053c8fb4")
        #expect(module.storedCRC == 0x3E0B_6BE0)
        #expect(module.crcRange == 0..<80)
        #expect(module.shaRange == 0..<46)
    }

    @Test func theBoronSuffixExampleParses() throws {
        // Last 44 bytes from `spark_wiring_version.h`: product ID 13, version 3, suffix size 40,
        // CRC 4bc2baf6 (the SHA is arbitrary here; parsing does not check it).
        var builder = ModuleBuilder()
        builder.platformID = 13
        var bytes = builder.build()
        let tail = hex("0D 00 03 00 00 00") + [UInt8](repeating: 0x11, count: 32) + hex("28 00 4B C2 BA F6")
        bytes.replaceSubrange((bytes.count - 44)..., with: tail)
        let module = try #require(try FirmwareModule.modules(in: bytes).first)
        #expect(module.suffix.productID == 13)
        #expect(module.suffix.productVersion == 3)
        #expect(module.suffix.size == 40)
        #expect(module.storedCRC == 0x4BC2_BAF6)
    }

    @Test func aBaseSuffixHasNoProductFields() throws {
        var builder = ModuleBuilder()
        builder.product = nil
        let bytes = builder.build()
        #expect(bytes.count == 80)
        let module = try #require(try FirmwareModule.modules(in: bytes).first)
        #expect(module.suffix.size == 36)
        #expect(module.suffix.productID == nil)
        #expect(module.suffix.productVersion == nil)
    }

    @Test(arguments: [0x200, 0x184, 0xC0, 0x10C, 0x400, 0x1FFC])
    func thePrefixIsFoundAfterAVectorTable(offset: Int) throws {
        var builder = ModuleBuilder()
        builder.function = 4
        builder.index = 1
        builder.moduleVersion = 5800
        builder.dependencies = [(2, 0, 1000), (0, 0, 0)]
        // A vector table: nothing in it may look like a prefix (start < end, function 1–9).
        builder.leading = (0..<offset).map { UInt8(truncatingIfNeeded: 0xF0 &+ $0 % 3) }
        builder.body = [UInt8](repeating: 0x55, count: 64)
        let bytes = builder.build()
        let module = try #require(try FirmwareModule.modules(in: bytes).first)
        #expect(module.prefixOffset == offset)
        #expect(module.function == .systemPart)
        #expect(module.version == 5800)
        #expect(module.length == bytes.count)
        #expect(module.dependencies == [ModuleDependency(function: .bootloader, index: 0, version: 1000)])
    }

    @Test func prefixExtensionsAreReadUpToEnd() throws {
        var builder = ModuleBuilder()
        builder.flags = 0x10
        // A PRODUCT_DATA extension (type 1, length 10) and END (type 0, length 4).
        builder.afterPrefix = hex("0100 0a00 0c000000 0300") + hex("0000 0400")
        let module = try #require(try FirmwareModule.modules(in: builder.build()).first)
        #expect(module.flags == .prefixExtensions)
        #expect(
            module.prefixExtensions == [
                ModuleExtension(type: ModuleExtension.productData, offset: 24, length: 10),
                ModuleExtension(type: ModuleExtension.end, offset: 34, length: 4),
            ]
        )
    }

    @Test func prefixExtensionsWithoutEndAreRefused() {
        var builder = ModuleBuilder()
        builder.flags = 0x10
        builder.afterPrefix = hex("0100 0a00 0c000000 0300")
        builder.body = [UInt8](repeating: 0xFF, count: 8)  // erased flash: an invalid extension
        #expect(throws: FirmwareError.invalidPrefixExtensions) { try FirmwareModule.modules(in: builder.build()) }
    }

    @Test func theCompressionHeaderIsRead() throws {
        var builder = ModuleBuilder()
        builder.flags = 0x02
        builder.afterPrefix = hex("0800 00 0f 00100000")  // size 8, raw DEFLATE, 15 bits, 4096 bytes
        let module = try #require(try FirmwareModule.modules(in: builder.build()).first)
        #expect(module.compression == CompressionHeader(size: 8, method: 0, windowBits: 15, originalSize: 4096))
        #expect(module.compression?.isValid == true)
    }

    @Test func combinedModulesAreParsedBackToBack() throws {
        var system = ModuleBuilder()
        system.flags = 0x04
        system.function = 4
        system.moduleVersion = 5800
        system.startAddress = 0x0003_0000
        system.dependencies = [(0, 0, 0), (0, 0, 0)]
        system.body = [UInt8](repeating: 0x77, count: 100)
        let first = system.build()
        let second = ModuleBuilder().build()
        let modules = try FirmwareModule.modules(in: first + second)
        #expect(modules.map(\.function) == [.systemPart, .userPart])
        #expect(modules.map(\.offset) == [0, first.count])
        #expect(modules[1].range == first.count..<(first.count + second.count))
        // The first promises another module: without it the file is truncated.
        #expect(throws: FirmwareError.missingCombinedModule(after: 1)) { try FirmwareModule.modules(in: first) }
    }

    @Test func describeLettersMapToFunctions() {
        #expect(ModuleFunction.userPart.describeLetter == "u")
        #expect(ModuleFunction.systemPart.describeLetter == "s")
        #expect(ModuleFunction(describeLetter: "m") == .monolithicFirmware)
        #expect(ModuleFunction(describeLetter: "a") == .radioStack)
        #expect(ModuleFunction(describeLetter: "x") == nil)
        #expect(ModuleFunction.asset.describeLetter == nil)
        #expect(ModuleFunction.systemPart.description == "4 (system part)")
        #expect(Platform.label(12) == "12 (Argon)")
        #expect(Platform.label(999) == "999 (unknown)")
    }
}
