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

    @Test func aDeviceThatDoesNotComeBackExpiresOnlyItsOwnUpdate() {
        let updates = FirmwareUpdates()
        let now = ContinuousClock.now
        #expect(updates.reserve("a", firmware: Self.firmware, at: now))
        let first = updates.transferred("a", until: now + .seconds(1))
        #expect(first != nil)
        // The deadline passes, a new update to the device starts: the old deadline is not its.
        #expect(updates.reserve("a", firmware: Self.firmware, at: now + .seconds(2)))
        #expect(!updates.expire("a", generation: first!))
        let second = updates.transferred("a", until: now + .seconds(3))
        #expect(second != first)
        // Its own deadline ends it, once.
        #expect(updates.expire("a", generation: second!))
        #expect(!updates.expire("a", generation: second!))
        #expect(updates.count == 0)
        // A device that described itself in time is not expired.
        #expect(updates.reserve("b", firmware: Self.firmware, at: now))
        let third = updates.transferred("b", until: now + .seconds(1))
        #expect(updates.restarted("b") != nil)
        #expect(!updates.expire("b", generation: third!))
    }

    @Test func automaticUpdatesWithoutASlotWaitInOrderUntilOneFrees() {
        let updates = FirmwareUpdates()
        let now = ContinuousClock.now
        #expect(updates.reserve("a", firmware: Self.firmware, at: now, automaticLimit: 1))
        #expect(!updates.reserve("b", firmware: Self.firmware, at: now, automaticLimit: 1))
        updates.wait("b")
        updates.wait("c")
        updates.wait("b")
        #expect(updates.waiting == ["b", "c"])
        // No slot free: nobody is handed out.
        #expect(updates.takeWaiting(limit: 1).isEmpty)
        // The transfer to "a" ends: the oldest waiting device gets the slot.
        updates.transferred("a", until: now + .seconds(60))
        #expect(updates.takeWaiting(limit: 1) == ["b"])
        #expect(updates.reserve("b", firmware: Self.firmware, at: now, automaticLimit: 1))
        #expect(updates.waiting == ["c"])
        updates.release("b")
        #expect(updates.takeWaiting(limit: 1) == ["c"])
        #expect(updates.waiting.isEmpty)
    }
}
