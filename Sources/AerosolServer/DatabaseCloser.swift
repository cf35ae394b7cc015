import AerosolStore
import ServiceLifecycle

/// Closes the database after every service that uses it has stopped (services stop in
/// reverse order, and this one is listed first).
struct DatabaseCloser: Service {
    let database: Database

    func run() async throws {
        try? await gracefulShutdown()
        await database.close()
    }
}
