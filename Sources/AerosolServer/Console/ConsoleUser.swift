import AerosolModels

/// The person signed in to the console: their session (an access token of client `console`),
/// their account and the CSRF token every change must carry.
struct ConsoleUser: Sendable {
    var caller: Caller
    var email: String
    var csrf: String

    /// The values every page's layout needs.
    func layout(title: String, section: String, script: String? = nil) -> [String: Any] {
        var values: [String: Any] = [
            "title": title,
            "email": email,
            "csrf": csrf,
            "nav": [section: true],
        ]
        if let script { values["script"] = script }
        return values
    }
}
