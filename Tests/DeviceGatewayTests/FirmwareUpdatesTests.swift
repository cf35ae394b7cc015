import Firmware
import Testing

@testable import DeviceGateway

@Suite("Firmware updates held by the gateway: one per device, automatic ones limited")
struct FirmwareUpdatesTests {
    static let firmware = ValidatedFirmware(modules: [], size: 0, fileSHA256: [])

    @Test func automaticUpdatesRunAtMostTheLimitAtOnce() {
        let updates = FirmwareUpdates()
        let now = ContinuousClock.now
        #expect(updates.reserve("a", firmware: Self.firmware, at: now, automaticLimit: 2))
        #expect(updates.reserve("b", firmware: Self.firmware, at: now, automaticLimit: 2))
        #expect(!updates.reserve("c", firmware: Self.firmware, at: now, automaticLimit: 2))
        // A flash from the API is not limited; a second update to one device is refused.
        #expect(updates.reserve("c", firmware: Self.firmware, at: now))
        #expect(!updates.reserve("a", firmware: Self.firmware, at: now))
        // A device restarting to apply its update no longer takes a place.
        updates.transferred("a", until: now + .seconds(60))
        #expect(updates.reserve("d", firmware: Self.firmware, at: now, automaticLimit: 2))
        // It is confirmed (or given up) once it describes itself or its time is over.
        #expect(!updates.reserve("a", firmware: Self.firmware, at: now))
        #expect(updates.reserve("a", firmware: Self.firmware, at: now + .seconds(61)))
        updates.release("b")
        updates.release("d")
        #expect(updates.restarted("a") == nil)
        updates.release("a")
        updates.release("c")
        #expect(updates.count == 0)
    }
}
