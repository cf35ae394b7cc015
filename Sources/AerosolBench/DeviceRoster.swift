import DeviceGateway
import Synchronization

/// The connected devices of a fleet, collected by their sessions, for a benchmark to reach them
/// all afterwards (to ping every one, for example).
final class DeviceRoster: Sendable {
    private let devices = Mutex<[SimulatedDevice]>([])

    /// Adds a connected device.
    func add(_ device: SimulatedDevice) {
        devices.withLock { $0.append(device) }
    }

    /// Every device added so far.
    var all: [SimulatedDevice] { devices.withLock { $0 } }

    /// Pings every device (`concurrency` at a time) and returns how many did not answer: their
    /// connection is gone.
    func pingAll(concurrency: Int = 256) async -> Int {
        let devices = all
        return await withTaskGroup(of: Bool.self, returning: Int.self) { group in
            var next = 0
            var lost = 0
            func startNext() {
                let device = devices[next]
                next += 1
                group.addTask {
                    do {
                        try await device.ping()
                        return true
                    } catch {
                        return false
                    }
                }
            }
            while next < min(concurrency, devices.count) { startNext() }
            while let answered = await group.next() {
                if !answered { lost += 1 }
                if next < devices.count { startNext() }
            }
            return lost
        }
    }
}
