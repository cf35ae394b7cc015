import AerosolStore
import ArgumentParser

/// `--database`: where the stores live, for `serve` and the commands that administer the data.
struct DatabaseOptions: ParsableArguments {
    @Option(
        name: .customLong("database"),
        help: """
            A PostgreSQL database to keep everything in instead of the SQLite file in the data \
            directory: postgres://user:password@host:port/database (add ?sslmode=require for TLS). \
            Every node of a cluster names the same one. [env: AEROSOL_DATABASE_URL] (default: \
            SQLite in the data directory)
            """
    )
    var database: String?

    @Option(
        help: """
            The most connections this node opens to the PostgreSQL database (one listens for \
            other nodes' events; the rest read and write). [env: AEROSOL_DATABASE_CONNECTIONS] \
            (default: 10)
            """
    )
    var databaseConnections: Int?

    /// `--database-connections`, checked.
    func resolveConnections() throws -> Int {
        try EnvironmentOption.resolve(
            databaseConnections,
            "AEROSOL_DATABASE_CONNECTIONS",
            default: 10,
            where: { (3...1000).contains($0) },
            "3 to 1000"
        )
    }

    /// The PostgreSQL URL given, or `nil` for SQLite.
    func resolve() throws -> String? {
        let value = try EnvironmentOption.resolve(database, "AEROSOL_DATABASE_URL", default: "")
        if value.isEmpty { return nil }
        guard DatabaseEngine.of(url: value) == .postgres else {
            throw ValidationError(
                "--database must be a PostgreSQL URL (postgres://user:password@host:port/database); "
                    + "leave it out for the SQLite file in the data directory"
            )
        }
        return value
    }
}
