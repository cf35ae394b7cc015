/// Why the console cannot start.
enum ConsoleError: Error, CustomStringConvertible {
    case missingResources

    var description: String {
        "the console's templates are missing: keep aerosol_AerosolServer.resources beside the aerosol binary"
    }
}
