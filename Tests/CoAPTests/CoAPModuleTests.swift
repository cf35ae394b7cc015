import CoAP
import Testing

@Test func coapModuleIsPresent() {
    #expect(String(describing: CoAP.self) == "CoAP")
}
