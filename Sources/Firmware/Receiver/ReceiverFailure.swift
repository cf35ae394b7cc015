import Foundation

/// A system error the simulated device reports: code and message.
struct ReceiverFailure: Error, Hashable, Sendable {
    var code: Int
    var message: String

    /// `{"code":-1330,"message":"…"}` (Device OS `formatDiagnosticPayload`).
    var payload: [UInt8] {
        let escaped = self.message.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(
            of: "\"",
            with: "\\\""
        )
        return Array("{\"code\":\(self.code),\"message\":\"\(escaped)\"}".utf8)
    }
}
