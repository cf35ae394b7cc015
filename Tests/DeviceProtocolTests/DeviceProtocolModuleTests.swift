import DeviceProtocol
import Testing

@Test func deviceProtocolModuleIsPresent() {
    #expect(String(describing: DeviceProtocol.self) == "DeviceProtocol")
}
