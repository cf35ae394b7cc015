import AerosolModels
import Foundation

/// The client's saved login: `$XDG_CONFIG_HOME/aerosol/config.json` (else `~/.config/…`),
/// mode 0600, holding the API URL, the access token and the username.
struct ClientConfig: Equatable {
    var apiURL: String?
    var token: String?
    var username: String?

    /// Where the file lives.
    static var path: String {
        let environment = ProcessInfo.processInfo.environment
        let base =
            environment["XDG_CONFIG_HOME"].flatMap { $0.isEmpty ? nil : $0 }
            ?? (environment["HOME"] ?? NSHomeDirectory()) + "/.config"
        return base + "/aerosol/config.json"
    }

    /// The saved config, or an empty one if there is none.
    static func load() throws -> ClientConfig {
        guard let data = FileManager.default.contents(atPath: path) else { return ClientConfig() }
        guard let json = try? JSONValue.parse(Array(data)) else {
            throw CLIError("\(path) is not valid JSON; remove it and log in again")
        }
        return ClientConfig(
            apiURL: json["api_url"]?.stringValue,
            token: json["token"]?.stringValue,
            username: json["username"]?.stringValue
        )
    }

    /// Writes the config with mode 0600 (the directory 0700).
    func save() throws {
        let path = Self.path
        let directory = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(
            atPath: directory,
            withIntermediateDirectories: true,
            attributes: [.posixPermissions: 0o700]
        )
        var members: [(String, JSONValue)] = []
        if let apiURL { members.append(("api_url", .string(apiURL))) }
        if let token { members.append(("token", .string(token))) }
        if let username { members.append(("username", .string(username))) }
        let data = Data((JSONValue.object(members).serialized + "\n").utf8)
        // Write to a private temporary file, then rename, so the token is never world-readable.
        let temporary = path + ".tmp"
        guard FileManager.default.createFile(atPath: temporary, contents: data, attributes: [.posixPermissions: 0o600])
        else { throw CLIError("cannot write \(temporary)") }
        guard rename(temporary, path) == 0 else { throw CLIError("cannot write \(path)") }
    }
}
