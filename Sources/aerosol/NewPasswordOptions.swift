import ArgumentParser

/// How `user create` and `user password` get the new password: a flag or standard input.
struct NewPasswordOptions: ParsableArguments {
    @Option(help: "The password (at least 8 characters). Prefer --password-stdin: arguments show in ps.")
    var password: String?

    @Flag(help: "Read the password from standard input (one line).")
    var passwordStdin = false

    func validate() throws {
        if (password == nil) == !passwordStdin {
            throw ValidationError("give exactly one of --password and --password-stdin")
        }
    }

    /// The password given.
    func read() throws -> String {
        if let password { return password }
        guard let line = readLine(strippingNewline: true), !line.isEmpty else {
            throw CLIError("no password on standard input")
        }
        return line
    }
}
