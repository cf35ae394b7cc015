import Firmware
import Testing

/// The `spark/flash/status` data, device error payloads, and the check after an update.
@Suite struct EventsTests {
    @Test func flashStatusDataHasTheTrailingSpace() {
        #expect(FlashStatus.eventName == "spark/flash/status")
        #expect(FlashStatus.started.eventData == "started ")
        #expect(FlashStatus.success.eventData == "success ")
        #expect(FlashStatus.failed.eventData == "failed ")
        #expect(TransferOutcome.success.flashStatus == .success)
        #expect(TransferOutcome.failure("cancelled").flashStatus == .failed)
    }

    @Test func deviceErrorsAreNamed() {
        #expect(
            DeviceError(payload: Array(#"{"code":-1380,"message":"Updates are disabled"}"#.utf8), coapCode: 0xA3)
                .description == "updates disabled (-1380): Updates are disabled"
        )
        #expect(
            DeviceError(payload: Array(#"{"code":-1331}"#.utf8), coapCode: 0xA3).description
                == "resumed update failed (-1331)"
        )
        #expect(DeviceError(payload: Array(#"{"code":-9999}"#.utf8), coapCode: 0xA3).description == "error (-9999)")
        #expect(DeviceError(payload: [], coapCode: 0xA3).description == "CoAP 5.03")
        #expect(DeviceError(payload: Array("not json".utf8), coapCode: 0x80).description == "CoAP 4.00")
    }

    static let firmware = try! ValidatedFirmware(validating: ModuleFormatTests.vector, for: nil)
    static let sha = hex("a9e113affa379f1d93b0881176b7689cf8e1e033b9ae1a32d961591a053c8fb4")

    @Test func theDescribeShowsWhetherTheUpdateTookEffect() {
        let system = InstalledModule(
            function: .systemPart,
            index: 1,
            version: 5800,
            validationsPerformed: 30,
            validationsPassed: 30
        )
        let applied = InstalledModule(
            function: .userPart,
            index: 1,
            version: 6,
            hash: Self.sha,
            validationsPerformed: 30,
            validationsPassed: 30
        )
        #expect(UpdateVerification(sent: Self.firmware, described: [system, applied]) == .applied)

        var safeMode = applied
        safeMode.validationsPassed = 26
        #expect(
            UpdateVerification(sent: Self.firmware, described: [system, safeMode])
                == .safeMode("user part 1 failed the device's checks (performed 30, passed 26)")
        )

        var old = applied
        old.hash = [UInt8](repeating: 0xEE, count: 32)
        #expect(
            UpdateVerification(sent: Self.firmware, described: [system, old])
                == .notApplied(
                    "the device runs user part \(String(repeating: "ee", count: 32)), "
                        + "not a9e113affa379f1d93b0881176b7689cf8e1e033b9ae1a32d961591a053c8fb4"
                )
        )
        #expect(
            UpdateVerification(sent: Self.firmware, described: [system])
                == .notApplied("the device reports no user part 1")
        )

        var unhashed = applied
        unhashed.hash = nil
        #expect(
            UpdateVerification(sent: Self.firmware, described: [unhashed])
                == .unknown("the device reports its user part without a hash")
        )

        // The virtual device reports its user part under any index.
        var otherIndex = applied
        otherIndex.index = 2
        #expect(UpdateVerification(sent: Self.firmware, described: [otherIndex]) == .applied)
    }

    @Test func deviceOSPartsAreRecognisedByVersion() throws {
        var builder = ModuleBuilder()
        builder.function = 4
        builder.moduleVersion = 5900
        builder.dependencies = [(0, 0, 0), (0, 0, 0)]
        let firmware = try ValidatedFirmware(validating: builder.build(), for: nil, purpose: .deviceOS)
        #expect(
            UpdateVerification(
                sent: firmware,
                described: [InstalledModule(function: .systemPart, index: 1, version: 5900)]
            ) == .applied
        )
        #expect(
            UpdateVerification(
                sent: firmware,
                described: [InstalledModule(function: .systemPart, index: 1, version: 5800)]
            )
                == .notApplied("the device runs system part 1 version 5800, not 5900")
        )
    }
}
