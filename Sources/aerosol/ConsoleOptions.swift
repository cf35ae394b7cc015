import AerosolServer
import ArgumentParser

/// `aerosol serve`'s web console options.
struct ConsoleOptions: ParsableArguments {
    @Option(help: "Hours a console sign-in lasts. [env: AEROSOL_CONSOLE_SESSION_HOURS] (default: 12)")
    var consoleSessionHours: Double?

    @Flag(
        help:
            "Mark the console's cookies Secure (serve it over HTTPS, e.g. behind a TLS proxy; X-Forwarded-Proto: https marks them too). [env: AEROSOL_SECURE_COOKIES=true] (default: off)"
    )
    var secureCookies = false

    /// Applies the options (flag, then environment variable, then default).
    func apply(to configuration: inout Configuration) throws {
        let hours = try EnvironmentOption.resolve(
            consoleSessionHours,
            "AEROSOL_CONSOLE_SESSION_HOURS",
            default: 12,
            where: { $0 > 0 && $0 <= 8760 },
            "more than 0 and at most 8760 (a year)"
        )
        configuration.consoleSessionLifetime = .seconds(Int64(hours * 3600))
        configuration.secureCookies = try EnvironmentOption.resolve(
            secureCookies ? true : nil,
            "AEROSOL_SECURE_COOKIES",
            default: false
        )
    }
}
