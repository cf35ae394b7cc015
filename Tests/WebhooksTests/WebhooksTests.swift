import Testing

@testable import Webhooks

@Test func theModuleLinks() {
    #expect(String(describing: Webhooks.self) == "Webhooks")
}
