import AerosolStore
import Foundation

/// Stored records for matching tests.
enum StoredWebhookFixture {
    static func record(_ definition: String, owner: String?, product: Int? = nil) -> StoredWebhook {
        StoredWebhook(
            id: "0123456789abcdef01234567",
            ownerID: owner,
            productID: product,
            definition: definition,
            credentials: .init(),
            afterEventID: 6,
            createdAt: Fixtures.start,
            updatedAt: Fixtures.start
        )
    }
}
